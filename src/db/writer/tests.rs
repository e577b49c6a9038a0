//! The writer's unit tests: group commit, deferred statements, broken batches.
use super::chained::{chained, renumbered};
use super::*;

#[test]
fn chained_statements_renumber_placeholders_outside_quotes() {
    assert_eq!(
        renumbered(r#"INSERT INTO "a$1" ("x") VALUES ($1, '$2', $10)"#, 3),
        r#"INSERT INTO "a$1" ("x") VALUES ($4, '$2', $13)"#
    );
    let s = |sql: &str, v: Vec<i64>| {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, v.into_iter().map(Into::into))
    };
    let one = chained(vec![
        s("INSERT INTO a VALUES ($1, $2)", vec![1, 2]),
        s("INSERT INTO b VALUES ($1)", vec![3]),
        s("INSERT INTO c VALUES ($1, $2)", vec![4, 5]),
    ]);
    assert_eq!(
        one.sql,
        "WITH w0 AS (INSERT INTO a VALUES ($1, $2)), w1 AS (INSERT INTO b VALUES ($3)) \
         INSERT INTO c VALUES ($4, $5)"
    );
    assert_eq!(one.values.map(|v| v.0.len()), Some(5));
}

async fn table() -> (DatabaseConnection, std::path::PathBuf) {
    table_on(4).await
}

async fn table_on(connections: u32) -> (DatabaseConnection, std::path::PathBuf) {
    let path =
        std::env::temp_dir().join(format!("ik-writer-{}.db", crate::domain::ids::new_id("t")));
    let db = super::super::connect(
        &format!("sqlite://{}?mode=rwc", path.display()),
        connections,
    )
    .await
    .expect("connect");
    db.execute_unprepared("CREATE TABLE t (v INTEGER)")
        .await
        .expect("table");
    (db, path)
}

async fn values(db: &DatabaseConnection) -> Vec<i64> {
    db.query_all_raw(Statement::from_string(
        DbBackend::Sqlite,
        "SELECT v FROM t ORDER BY v",
    ))
    .await
    .expect("select")
    .iter()
    .map(|r| r.try_get_by_index::<i64>(0).expect("v"))
    .collect()
}

/// A write dropped halfway (a panic inside it) while another waits for
/// the same batch's commit: its rows roll back, the other's commit.
#[tokio::test]
async fn a_write_dropped_halfway_rolls_back_alone_and_the_batch_commits() {
    let (db, path) = table().await;
    let w = Writer::new(db.clone(), db.clone());
    let first = w.begin(false).await.expect("begin");
    first
        .execute_unprepared("INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    let dropped = tokio::spawn({
        let w = w.clone();
        async move {
            let second = w.begin(false).await.expect("begin");
            second
                .execute_unprepared("INSERT INTO t VALUES (2)")
                .await
                .expect("insert");
            drop(second);
        }
    });
    let committed = tokio::time::timeout(std::time::Duration::from_secs(10), first.commit()).await;
    assert!(matches!(committed, Ok(Ok(()))), "{committed:?}");
    dropped.await.expect("task");
    let third = w.begin(false).await.expect("begin");
    third
        .execute_unprepared("INSERT INTO t VALUES (3)")
        .await
        .expect("insert");
    third.commit().await.expect("commit");
    assert_eq!(values(&db).await, vec![1, 3]);
    let _ = std::fs::remove_file(path);
}

/// A write whose savepoint cannot be rolled back, because SQLite already
/// rolled the whole transaction back by itself (as it may on
/// `SQLITE_FULL`): the batch is abandoned — the write waiting for it
/// fails, its row is gone — and the next writes commit, each in a batch
/// of its own, with no connection left holding the write lock. One
/// connection in the pool: the next batches get the same one back (or
/// a new one, if it had to be closed).
#[tokio::test]
async fn a_batch_whose_transaction_broke_fails_its_writes_and_the_next_commit() {
    let (db, path) = table_on(1).await;
    let w = Writer::new(db.clone(), db.clone());
    let first = w.begin(false).await.expect("begin");
    first
        .execute_unprepared("INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    let first = tokio::spawn(first.commit());
    // Queued on the batch before the committer (current-thread runtime).
    let broken = w.begin(false).await.expect("begin");
    broken
        .execute_unprepared("ROLLBACK")
        .await
        .expect("what SQLite does by itself on a full disk");
    assert!(broken.rollback().await.is_err(), "no savepoint left");
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), first)
        .await
        .expect("answered")
        .expect("task");
    assert!(
        first.is_err(),
        "a write of a broken batch was told it committed"
    );
    for v in [3, 4, 5, 6, 7, 8] {
        let next = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            w.one(|c| async move {
                c.execute_unprepared(&format!("INSERT INTO t VALUES ({v})"))
                    .await
            }),
        )
        .await
        .expect("no hang");
        assert!(next.is_ok(), "write {v} after the broken batch: {next:?}");
    }
    assert_eq!(values(&db).await, vec![3, 4, 5, 6, 7, 8]);
    // The pool's connection is in step with SQLite: not counted inside a
    // transaction (out of step, its next `BEGIN IMMEDIATE` would go out as
    // a `SAVEPOINT`, opening a deferred transaction of its own).
    {
        use sea_orm::sqlx::Connection;
        let conn = db
            .get_sqlite_connection_pool()
            .acquire()
            .await
            .expect("acquire");
        assert!(!conn.is_in_transaction(), "a pooled connection out of step");
    }
    // No connection of the pool holds a transaction: another one takes
    // the write lock at once.
    let other = super::super::connect(&format!("sqlite://{}", path.display()), 1)
        .await
        .expect("connect");
    let lock = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        other.execute_unprepared("BEGIN IMMEDIATE; ROLLBACK"),
    )
    .await;
    assert!(matches!(lock, Ok(Ok(_))), "write lock still held: {lock:?}");
    let _ = std::fs::remove_file(path);
}

/// A write that fails rolls back alone; the ones before and after it in
/// the batch commit.
#[tokio::test]
async fn a_failing_write_rolls_back_alone() {
    let (db, path) = table().await;
    let w = Writer::new(db.clone(), db.clone());
    let ok = w.begin(false).await.expect("begin");
    ok.execute_unprepared("INSERT INTO t VALUES (1)")
        .await
        .expect("insert");
    let ok = tokio::spawn(ok.commit());
    let bad = w.begin(false).await.expect("begin");
    bad.execute_unprepared("INSERT INTO t VALUES (2)")
        .await
        .expect("insert");
    assert!(
        bad.execute_unprepared("INSERT INTO nowhere VALUES (1)")
            .await
            .is_err()
    );
    bad.rollback().await.expect("rollback");
    ok.await.expect("task").expect("commit");
    w.one(|c| async move { c.execute_unprepared("INSERT INTO t VALUES (3)").await })
        .await
        .expect("one-statement write");
    assert_eq!(values(&db).await, vec![1, 3]);
    let _ = std::fs::remove_file(path);
}
