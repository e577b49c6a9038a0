//! A full disk under SQLite: writes fail fast in the §6 shape, `/readyz` says
//! not ready, and once space returns writes resume without a restart;
//! nothing acknowledged is lost and the database stays intact. The disk is
//! a small tmpfs mounted for the test (skipped, with the reason, where
//! mounting is not allowed; in CI it must mount).
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::*;

/// A tmpfs mounted on a temporary directory, unmounted when dropped
/// (lazily if something still holds a file there).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size_kib: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kib}k"), "tmpfs"])
            .arg(dir.path())
            .output();
        let reason = match out {
            Ok(o) if o.status.success() => return Some(Tmpfs { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(
            std::env::var("CI").is_err(),
            "CI must be able to mount a tmpfs for the disk-full test: {reason}"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here ({reason}); CI runs this test");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` until the disk is full; returns its path.
    fn fill(&self, name: &str) -> PathBuf {
        let path = self.path().join(name);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("filler");
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
        // What is left: less than a page.
        let _ = f.write_all(&[0u8; 1]);
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let plain = Command::new("umount")
            .arg(self.path())
            .stderr(std::process::Stdio::null())
            .status();
        if !plain.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(self.path()).status();
        }
    }
}

/// A create with its metadata at the limit (50 × 500 characters): a batch of
/// a few dozen of them outgrows SQLite's page cache, which then spills into
/// the WAL mid-transaction — where a full disk fails a statement, not only
/// a `COMMIT`.
fn big_body() -> serde_json::Value {
    let mut body = seed_body();
    body["metadata"] = (0..50)
        .map(|i| {
            let v = ikawaari::domain::ids::random_token(500);
            (format!("k{i}"), serde_json::Value::String(v))
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    body
}

async fn create(app: &TestApp) -> (u16, serde_json::Value, Duration) {
    create_with(app, &seed_body()).await
}

async fn create_with(
    app: &TestApp,
    body: &serde_json::Value,
) -> (u16, serde_json::Value, Duration) {
    let started = Instant::now();
    let res = tokio::time::timeout(
        Duration::from_secs(60),
        app.post("/api/v1/checkout/sessions", body),
    )
    .await
    .expect("create answered within 60 s");
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or_default();
    (status, body, started.elapsed())
}

async fn readyz(app: &TestApp) -> u16 {
    app.client
        .get(app.url("/readyz"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("readyz")
        .status()
        .as_u16()
}

#[tokio::test]
async fn writes_fail_fast_on_a_full_disk_and_resume_once_space_returns() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!(
            "skipped: SQLite only (a full disk under the SQLite file); runs in the SQLite pass"
        );
        return;
    }
    let Some(disk) = Tmpfs::mount(8 * 1024) else {
        return;
    };
    let file = disk.path().join("full.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let app = spawn_app_through(|_| {}, |_| url.clone()).await;
    let mut acknowledged = Vec::new();
    for _ in 0..5 {
        let (status, body, _) = create(&app).await;
        assert_eq!(status, 200, "{body}");
        acknowledged.push(body["id"].as_str().expect("id").to_string());
    }

    // Full: every byte of the tmpfs taken.
    let filler = disk.fill("filler");
    // Rounds of concurrent creates (batches of many writes) until writes
    // fail, then two rounds more.
    let mut failures = Vec::new();
    let mut rounds_failing = 0;
    for _ in 0..200 {
        let round = futures::future::join_all(
            (0..32).map(|_| async { create_with(&app, &big_body()).await }),
        )
        .await;
        for (status, body, took) in round {
            match status {
                200 => acknowledged.push(body["id"].as_str().expect("id").to_string()),
                _ => failures.push((status, body, took)),
            }
        }
        if !failures.is_empty() {
            rounds_failing += 1;
            if rounds_failing == 3 {
                break;
            }
        }
    }
    assert_eq!(rounds_failing, 3, "the disk never filled up");
    for (status, body, took) in &failures {
        assert!(
            *status == 500 || *status == 503,
            "a failed write answers 500/503: {status} {body}"
        );
        assert!(body["error"]["code"].is_string(), "§6 shape: {body}");
        assert!(
            *took < Duration::from_secs(10),
            "a failed write took {took:?} to answer: {status} {body}"
        );
    }
    eprintln!(
        "disk full after {} acknowledged creates; {} failed, answered within {:?}",
        acknowledged.len(),
        failures.len(),
        failures.iter().map(|f| f.2).max()
    );
    // Whatever a failed write left free is taken too.
    let filler2 = disk.fill("filler2");
    assert_eq!(readyz(&app).await, 503, "ready while writes cannot commit");

    // Space returns: writes resume by themselves, and so does readiness.
    std::fs::remove_file(filler).expect("free");
    std::fs::remove_file(filler2).expect("free");
    let freed = Instant::now();
    let resumed = loop {
        let (status, body, _) = create(&app).await;
        if status == 200 {
            acknowledged.push(body["id"].as_str().expect("id").to_string());
            break freed.elapsed();
        }
        assert!(
            freed.elapsed() < Duration::from_secs(20),
            "writes did not resume within 20 s of space returning: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for _ in 0..20 {
        let (status, body, _) = create(&app).await;
        assert_eq!(status, 200, "a write after space returned: {body}");
        acknowledged.push(body["id"].as_str().expect("id").to_string());
    }
    let ready = loop {
        if readyz(&app).await == 200 {
            break freed.elapsed();
        }
        assert!(
            freed.elapsed() < Duration::from_secs(20),
            "/readyz not ready 20 s after space returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("space freed: writes resumed after {resumed:?}, ready after {ready:?}");

    for id in &acknowledged {
        let res = app.get(&format!("/api/v1/checkout/sessions/{id}")).await;
        assert_eq!(res.status(), 200, "acknowledged session {id} lost");
    }
    let check = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await
        .expect("integrity_check")
        .expect("a row");
    assert_eq!(
        check.try_get_by_index::<String>(0).expect("text"),
        "ok",
        "integrity_check"
    );
    // Its files closed, the tmpfs unmounts at once.
    app.state.db.clone().close().await.ok();
    drop(app);
}
