//! SQL text built once per process for the hottest reads. sea-query builds
//! a statement from its syntax tree on every call — for a three-table read
//! of ~50 aliased columns that was ~10 % of a public read's CPU (`perf`:
//! `prepare_iden`, the tree's allocations). A `Shape` keeps the text of the
//! first build (per backend) and binds each call's values to it.
use std::sync::OnceLock;

use sea_orm::{DbBackend, Statement, Value};

/// The SQL text of one query shape, per backend.
#[derive(Default)]
pub struct Shape([OnceLock<String>; 2]);

impl Shape {
    pub const fn new() -> Shape {
        Shape([OnceLock::new(), OnceLock::new()])
    }

    /// The statement `build` makes, given the `values` it binds in order.
    /// Built only until one build has shown it binds exactly `values`; from
    /// then on the stored text with these values.
    pub fn statement(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> Statement,
    ) -> Statement {
        let cell = &self.0[usize::from(backend == DbBackend::Postgres)];
        if let Some(sql) = cell.get() {
            return Statement::from_sql_and_values(backend, sql.clone(), values);
        }
        let built = build();
        if built.values.as_ref().map(|v| &v.0) == Some(&values) {
            let _ = cell.set(built.sql.clone());
        } else {
            // A caller declared other values than its query binds: correct
            // (the built statement is used) but slow. Tests run debug builds.
            // Only the text is shown: the values may hold a key's hash.
            debug_assert!(
                false,
                "query shape binds other values than declared: {}",
                built.sql
            );
            tracing::warn!(sql = %built.sql, "query shape binds other values than declared: not kept");
        }
        built
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(v: i64) -> Statement {
        Statement::from_sql_and_values(DbBackend::Sqlite, "SELECT ?", [v.into()])
    }

    #[test]
    fn the_text_is_built_once_and_bound_to_each_call_s_values() {
        let shape = Shape::new();
        shape.statement(DbBackend::Sqlite, vec![1i64.into()], || select(1));
        let second = shape.statement(DbBackend::Sqlite, vec![5i64.into()], || unreachable!());
        assert_eq!(second.sql, "SELECT ?");
        assert_eq!(second.values.map(|v| v.0), Some(vec![5i64.into()]));
        assert!(shape.0[1].get().is_none(), "per backend");
    }

    #[test]
    #[cfg_attr(
        debug_assertions,
        should_panic(expected = "other values than declared")
    )]
    fn values_declared_wrong_are_never_kept() {
        let shape = Shape::new();
        // An i32 declared, an i64 bound.
        shape.statement(DbBackend::Sqlite, vec![1i32.into()], || select(1));
        assert!(shape.0[0].get().is_none());
    }
}
