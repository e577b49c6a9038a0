//! Deferred statements sent as one: on PostgreSQL a write's deferred
//! inserts and counter upserts go as one data-modifying `WITH` statement.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// Runs `stmts` in order. On PostgreSQL, several go as one statement (data-
/// modifying `WITH` clauses): one round trip, whatever their number.
pub(super) async fn run_all(
    db: &impl ConnectionTrait,
    mut stmts: Vec<Statement>,
) -> Result<(), DbErr> {
    if stmts.len() > 1 && db.get_database_backend() == DbBackend::Postgres {
        stmts = vec![chained(stmts)];
    }
    for stmt in stmts {
        db.execute_raw(stmt).await?;
    }
    Ok(())
}

/// `WITH w0 AS (a), w1 AS (b) c`, placeholders renumbered: PostgreSQL runs
/// every part in the one statement, whether or not anything reads its
/// output (parts must not touch the same row; constraints are checked at
/// its end).
pub(super) fn chained(stmts: Vec<Statement>) -> Statement {
    let last = stmts.len() - 1;
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    for (i, s) in stmts.into_iter().enumerate() {
        let body = renumbered(&s.sql, values.len());
        values.extend(s.values.map(|v| v.0).unwrap_or_default());
        if i < last {
            sql.push_str(&format!(
                "w{i} AS ({body}){}",
                if i + 1 < last { ", " } else { " " }
            ));
        } else {
            sql.push_str(&body);
        }
    }
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// `sql` with each PostgreSQL placeholder `$n` (outside quotes) moved to `$(n + by)`.
pub(super) fn renumbered(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                out.push('$');
                out.push_str(&(n + by).to_string());
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}
