//! SQL text built once per process for the hottest reads. sea-query builds
//! a statement from its syntax tree on every call — for a three-table read
//! of ~50 aliased columns that was ~10 % of a public read's CPU (`perf`:
//! `prepare_iden`, the tree's allocations). A `Shape` keeps the text of the
//! first build (per backend) and binds each later call's values to it.
//!
//! Binding is by construction: a shape is a plain `fn(&A, DbBackend) ->
//! Statement` (it captures nothing, so everything it binds comes from its
//! arguments `A`), and `A` is a tuple whose values the shape itself lists
//! ([`Binds`]). The first build records where each argument lands in the
//! statement; no caller lists values, so none can list them wrong.
//!
//! Rows decode by the column names the query chose: [`columns`] selects an
//! entity's columns as `<prefix><column>`, and `Model::from_query_result(row,
//! prefix)` reads them back — not sea-orm's internal `A_`/`B_` aliases.
use std::sync::OnceLock;

use sea_orm::sea_query::{Expr, IntoIden};
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, IdenStatic, Iterable, QuerySelect, Statement, Value,
};

/// A query's arguments: the values its statement may bind.
pub trait Binds {
    fn binds(&self) -> Vec<Value>;
}

macro_rules! binds_for_tuples {
    ($(($($t:ident $i:tt),+))+) => {$(
        impl<$($t: Clone + Into<Value>),+> Binds for ($($t,)+) {
            fn binds(&self) -> Vec<Value> {
                vec![$(self.$i.clone().into()),+]
            }
        }
    )+};
}
binds_for_tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
}

/// The text of one statement, and which argument each placeholder takes.
struct Kept {
    sql: String,
    from_arg: Vec<usize>,
}

/// One query shape: its builder, and its text per backend once built.
pub struct Shape<A> {
    build: fn(&A, DbBackend) -> Statement,
    kept: [OnceLock<Kept>; 2],
}

impl<A: Binds> Shape<A> {
    pub const fn new(build: fn(&A, DbBackend) -> Statement) -> Shape<A> {
        Shape {
            build,
            kept: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// The statement for `args`: built, the first time, and from then on
    /// the kept text with `args` bound where the first build put them.
    pub fn statement(&self, backend: DbBackend, args: &A) -> Statement {
        let cell = &self.kept[usize::from(backend == DbBackend::Postgres)];
        let values = args.binds();
        if let Some(kept) = cell.get() {
            let bound = kept.from_arg.iter().map(|&i| values[i].clone());
            return Statement::from_sql_and_values(backend, kept.sql.clone(), bound);
        }
        let built = (self.build)(args, backend);
        let bound = built.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        match placement(bound, &values) {
            Placement::Found(from_arg) => {
                let _ = cell.set(Kept {
                    sql: built.sql.clone(),
                    from_arg,
                });
            }
            // Two arguments equal this time: the next call decides.
            Placement::Ambiguous => {}
            Placement::NotAnArgument => {
                // The builder binds a value that is none of its arguments: a
                // constant belongs in the arguments. Correct (the built
                // statement is used) but slow; tests run debug builds. Only
                // the text is shown: the values may hold a key's hash.
                debug_assert!(
                    false,
                    "query shape binds a value that is not an argument: {}",
                    built.sql
                );
                tracing::warn!(sql = %built.sql, "query shape binds a value that is not an argument: not kept");
            }
        }
        built
    }
}

enum Placement {
    Found(Vec<usize>),
    Ambiguous,
    NotAnArgument,
}

/// For each bound value, the one argument equal to it (type included).
fn placement(bound: &[Value], args: &[Value]) -> Placement {
    let mut from_arg = Vec::with_capacity(bound.len());
    for v in bound {
        let mut equal = args.iter().enumerate().filter(|(_, a)| *a == v);
        match (equal.next(), equal.next()) {
            (Some((i, _)), None) => from_arg.push(i),
            (Some(_), Some(_)) => return Placement::Ambiguous,
            (None, _) => return Placement::NotAnArgument,
        }
    }
    Placement::Found(from_arg)
}

/// `select` with every column of `E` added as `<prefix><column>`: the names
/// `E::Model::from_query_result(row, prefix)` reads.
pub fn columns<E: EntityTrait, S: QuerySelect>(mut select: S, prefix: &str) -> S {
    for col in E::Column::iter() {
        let expr = Expr::col((E::default().into_iden(), col.into_iden()));
        select = select.expr_as(col.select_as(expr), format!("{prefix}{}", col.as_str()));
    }
    select
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(a: &(i64, String), _: DbBackend) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT ? WHERE ?",
            [a.1.clone().into(), a.0.into()],
        )
    }

    #[test]
    fn the_text_is_built_once_and_each_argument_bound_where_the_build_put_it() {
        let shape = Shape::new(select);
        shape.statement(DbBackend::Sqlite, &(1, "a".into()));
        assert!(shape.kept[0].get().is_some(), "kept after one build");
        let second = shape.statement(DbBackend::Sqlite, &(5, "b".into()));
        assert_eq!(second.sql, "SELECT ? WHERE ?");
        assert_eq!(
            second.values.map(|v| v.0),
            Some(vec!["b".to_string().into(), 5i64.into()])
        );
        assert!(shape.kept[1].get().is_none(), "per backend");
    }

    #[test]
    fn equal_arguments_leave_the_placement_to_a_later_call() {
        fn both(a: &(i64, i64), _: DbBackend) -> Statement {
            Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT ?, ?",
                [a.1.into(), a.0.into()],
            )
        }
        let shape = Shape::new(both);
        let first = shape.statement(DbBackend::Sqlite, &(3, 3));
        assert_eq!(
            first.values.map(|v| v.0),
            Some(vec![3i64.into(), 3i64.into()])
        );
        assert!(shape.kept[0].get().is_none());
        shape.statement(DbBackend::Sqlite, &(1, 2));
        let swapped = shape.statement(DbBackend::Sqlite, &(7, 8));
        assert_eq!(
            swapped.values.map(|v| v.0),
            Some(vec![8i64.into(), 7i64.into()])
        );
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "not an argument"))]
    fn a_bound_constant_is_never_kept() {
        fn constant(a: &(i64,), _: DbBackend) -> Statement {
            Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT ?, ?",
                [a.0.into(), 9i32.into()],
            )
        }
        let shape = Shape::new(constant);
        shape.statement(DbBackend::Sqlite, &(1,));
        assert!(shape.kept[0].get().is_none());
    }

    #[test]
    fn columns_are_named_by_the_query_with_its_prefix() {
        use entity::api_key;
        use sea_orm::QueryTrait;
        let sql = columns::<api_key::Entity, _>(api_key::Entity::find().select_only(), "k_")
            .build(DbBackend::Postgres)
            .sql;
        assert!(
            sql.contains(r#""api_keys"."key_hash" AS "k_key_hash""#),
            "{sql}"
        );
        assert!(!sql.contains("A_"), "{sql}");
    }
}
