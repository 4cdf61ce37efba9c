//! A failing store pauses the hub; it never throws messages away. Each test breaks the real
//! database the way an operator's bad day would — PostgreSQL read-only as after a fail-over,
//! PostgreSQL unreachable, SQLite's disk full — while needs keep arriving, and checks that the
//! hub paused (and `/readyz` said so), dead-lettered nothing, and finished every need by itself
//! once the store was back. A message that fails for its own data while others succeed is
//! still dead-lettered after its bounded attempts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use samverkan::transport::{
    EVENT_TYPE_HEADER, NEED_ID_HEADER, REASON_HEADER, SENDER_HEADER, ShutdownTrigger,
};
use samverkan::transport::{HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE};
use serde_json::Value;
use sqlx::{AnyPool, AssertSqlSafe};

use crate::hub_faults::{PgDatabase, sql_pool};
use crate::{App, need_event, spawn_app_with};

/// Needs of the sample data that route (two regions).
const NEEDS: [&str; 4] = [
    "NEED-2026-0102",
    "NEED-2026-0103",
    "NEED-2026-0104",
    "NEED-2026-0105",
];

/// Wait for `condition`, failing with `what` after 60 s.
async fn until(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(Instant::now() < deadline, "{what} within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `/readyz` of `app`, served on a free port until the trigger fires.
async fn readiness(app: &App) -> (SocketAddr, ShutdownTrigger) {
    crate::serve_http(app.pipeline.clone()).await
}

async fn readyz(address: SocketAddr) -> (u16, Value) {
    let response = reqwest::get(format!("http://{address}/readyz"))
        .await
        .expect("GET /readyz");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// Send the needs of [`NEEDS`] as their regions.
async fn send_needs(app: &App) {
    for id in NEEDS {
        let event = need_event(id);
        let user = if event.data["region"] == "VGR" {
            "vgr"
        } else {
            "rv"
        };
        app.send(user, &event).await;
    }
}

/// Every need of [`NEEDS`] has its `published` status and nothing was dead-lettered.
async fn all_published_none_dead(app: &App) {
    let mut statuses: Vec<String> = Vec::new();
    for region in ["VGR", "RV"] {
        for event in app.org_events(region).await {
            if event["data"]["state"] == "published" {
                statuses.push(event["subject"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    statuses.sort();
    assert_eq!(statuses, NEEDS, "each need's status once");
    let dead = app.broker.drain(HUB_DEAD_QUEUE).expect("dead-letter queue");
    assert!(dead.is_empty(), "dead-lettered during an outage: {dead:?}");
}

/// Make every new session on `database` read-only (or writable again) and end the current
/// ones, as a fail-over to a standby would.
pub(crate) async fn set_read_only(admin: &AnyPool, database: &str, on: bool) {
    let value = if on { "on" } else { "off" };
    for sql in [
        format!("ALTER DATABASE {database} SET default_transaction_read_only = {value}"),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        ),
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .execute(admin)
            .await
            .unwrap_or_else(|e| panic!("read-only {value}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_postgres_pauses_the_hub_and_it_resumes_by_itself() {
    let database = PgDatabase::create().await;
    let app = spawn_app_with(&[("SAMVERKAN__STORE__URL", &database.url)]).await;
    let (address, http) = readiness(&app).await;
    assert_eq!(readyz(address).await.0, 200);
    let admin = sql_pool(&database.admin_url).await;

    set_read_only(&admin, &database.name, true).await;
    send_needs(&app).await;
    until("the hub pauses", async || app.pipeline.pause().is_paused()).await;
    let (status, body) = readyz(address).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        (body["store"].as_str(), body["paused"].as_bool()),
        (Some("read_only"), Some(true))
    );
    assert_eq!(app.broker.queue_len(HUB_DEAD_QUEUE).expect("dead"), 0);

    set_read_only(&admin, &database.name, false).await;
    until("the hub resumes", async || {
        !app.pipeline.pause().is_paused()
    })
    .await;
    all_published_none_dead(&app).await;
    assert_eq!(readyz(address).await.0, 200);
    assert!(app.pipeline.metrics().store_faults("read_only") > 0);
    http.trigger();
    app.stop().await;
}

/// A TCP proxy in front of PostgreSQL that can refuse connections for a while.
struct Proxy {
    address: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("address");
        Self {
            address,
            task: Some(tokio::spawn(forward(listener))),
        }
    }

    /// Close every connection and refuse new ones.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Accept connections again, on the same port.
    async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.address)
            .await
            .expect("the proxy's port again");
        self.task = Some(tokio::spawn(forward(listener)));
    }
}

/// Pipe every connection to PostgreSQL on 127.0.0.1:5432; aborting this ends them all.
async fn forward(listener: tokio::net::TcpListener) {
    let mut pipes = tokio::task::JoinSet::new();
    while let Ok((mut inbound, _)) = listener.accept().await {
        pipes.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_pauses_the_hub_and_it_resumes_by_itself() {
    let database = PgDatabase::create().await;
    let mut proxy = Proxy::start().await;
    let url = database
        .url
        .replace("127.0.0.1:5432", &proxy.address.to_string());
    assert_ne!(url, database.url, "the test database is on 127.0.0.1:5432");
    let app = spawn_app_with(&[("SAMVERKAN__STORE__URL", &url)]).await;
    proxy.stop().await;
    send_needs(&app).await;
    until("the hub pauses", async || app.pipeline.pause().is_paused()).await;
    assert_eq!(app.broker.queue_len(HUB_DEAD_QUEUE).expect("dead"), 0);
    // Deliveries wait unacknowledged; none was settled while the store was away.
    assert_eq!(
        app.broker.queue_len(HUB_INGRESS_QUEUE).expect("ingress")
            + app.broker.unacked(HUB_INGRESS_QUEUE).expect("ingress"),
        NEEDS.len()
    );
    proxy.restart().await;
    until("the hub resumes", async || {
        !app.pipeline.pause().is_paused()
    })
    .await;
    all_published_none_dead(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_fails_for_its_own_data_is_still_dead_lettered_after_its_attempts() {
    let database = PgDatabase::create().await;
    let app = spawn_app_with(&[("SAMVERKAN__STORE__URL", &database.url)]).await;
    // One need id the database refuses (a check-constraint violation, class 23), every time.
    let store = sql_pool(&database.url).await;
    for sql in [
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.need_id = 'NEED-2026-0102' THEN \
         RAISE EXCEPTION 'refused by the test' USING ERRCODE = '23514'; END IF; \
         RETURN NEW; END $$",
        "CREATE TRIGGER refuse_one BEFORE INSERT ON needs FOR EACH ROW EXECUTE FUNCTION refuse_one()",
    ] {
        sqlx::query(sql).execute(&store).await.expect("trigger");
    }
    send_needs(&app).await;
    app.settle().await;
    let mut published: Vec<String> = Vec::new();
    for region in ["VGR", "RV"] {
        for event in app.org_events(region).await {
            if event["data"]["state"] == "published" {
                published.push(event["subject"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    published.sort();
    assert_eq!(published, NEEDS[1..], "the others went through");
    let dead = app.broker.drain(HUB_DEAD_QUEUE).expect("dead");
    let reasons: Vec<&str> = dead
        .iter()
        .map(|d| d.headers[REASON_HEADER].as_str())
        .collect();
    assert_eq!(reasons, ["retries_exhausted"]);
    // The dead letter names what it was, without its body being read.
    let poison = need_event("NEED-2026-0102");
    assert_eq!(dead[0].headers[NEED_ID_HEADER], "NEED-2026-0102");
    assert_eq!(dead[0].headers[SENDER_HEADER], "VGR");
    assert_eq!(
        dead[0].headers[EVENT_TYPE_HEADER],
        poison.event_type.as_str()
    );
    assert!(!app.pipeline.pause().is_paused());
    assert_eq!(
        app.pipeline.metrics().store_faults("data"),
        u64::from(app.settings.hub.max_attempts)
    );
    app.stop().await;
}

/// A small tmpfs of its own, unmounted when dropped (also when the test fails).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root); {status}"
        );
        Self { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Write a filler file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.path("filler")).expect("filler");
        let block = vec![0u8; 64 * 1024];
        while filler.write_all(&block).is_ok() {}
        while filler.write_all(&block[..512]).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.path("filler")).expect("remove the filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_pauses_the_hub_and_resumes_once_there_is_space() {
    let disk = SmallDisk::mount("16m");
    let url = format!("sqlite://{}", disk.path("hub.db").display());
    let app = spawn_app_with(&[("SAMVERKAN__STORE__URL", &url)]).await;
    disk.fill();
    send_needs(&app).await;
    until("the hub pauses", async || app.pipeline.pause().is_paused()).await;
    assert_eq!(app.broker.queue_len(HUB_DEAD_QUEUE).expect("dead"), 0);
    disk.free();
    until("the hub resumes", async || {
        !app.pipeline.pause().is_paused()
            && app.broker.queue_len(HUB_INGRESS_QUEUE).unwrap_or(1) == 0
            && app.broker.unacked(HUB_INGRESS_QUEUE).unwrap_or(1) == 0
    })
    .await;
    all_published_none_dead(&app).await;
    assert!(app.pipeline.metrics().store_faults("disk_full") > 0);
    app.stop().await;
}
