//! PostgreSQL side: a database per test, counting rows.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Stores: a fresh PostgreSQL database, and SQL for what the store has no read API for.

/// A fresh PostgreSQL database, dropped when this is dropped (also when the test fails).
pub(crate) struct PgDatabase {
    pub(crate) admin_url: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl PgDatabase {
    pub(crate) async fn create() -> Self {
        sqlx::any::install_default_drivers();
        let admin_url = std::env::var("SAMVERKAN__STORE__PG_URL").unwrap_or(DEFAULT_PG_URL.into());
        let redacted = samverkan::store::redact_url(&admin_url);
        let mut admin = AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL at {redacted} is unreachable ({e}): {START_PG}")
            });
        let name = format!("it_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE on {redacted}: {e}"));
        admin.close().await.ok();
        let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let authority = base.find("://").map_or(0, |i| i + 3);
        let server = match base[authority..].find('/') {
            Some(slash) => &base[..authority + slash],
            None => base,
        };
        let url = match query {
            "" => format!("{server}/{name}"),
            q => format!("{server}/{name}?{q}"),
        };
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime, so the async driver gets a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = AnyConnection::connect(&admin_url).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!(
                "could not drop the test database {}; drop it by hand",
                self.name
            );
        }
    }
}

/// A plain SQL pool on the store's database, for what the store has no read API for.
pub(crate) async fn sql_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(url)
        .await
        .unwrap_or_else(|e| panic!("SQL pool on {}: {e}", samverkan::store::redact_url(url)))
}

pub(crate) async fn count(db: &AnyPool, sql: &'static str, binds: &[&str]) -> i64 {
    let mut query = sqlx::query_scalar::<_, i64>(sql);
    for bind in binds {
        query = query.bind(bind.to_string());
    }
    query
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The routing key of a `need.status` to the region.
pub(crate) fn status_key() -> String {
    Topology::egress_routing_key("VGR", EventType::NeedStatus)
}

/// Nothing left to do: every event committed (`committed` says when), every delivery settled
/// (none ready, none unacknowledged: a late duplicate could still change something), and the
/// outbox flushed.
pub(crate) async fn wait_until_settled(
    what: &str,
    limit: Duration,
    vhost: &Vhost,
    store: &Store,
    mut committed: impl AsyncFnMut() -> bool,
    mut alive: impl FnMut(),
) {
    let deadline = Instant::now() + limit;
    loop {
        alive();
        // The cheap looks first; `rabbitmqctl` (which also counts unacknowledged deliveries)
        // takes a second.
        if committed().await
            && matches!(vhost.queue_counts(HUB_INGRESS_QUEUE).await, Some((0, _)))
            && vhost.messages(HUB_INGRESS_QUEUE) == Some(0)
            && store.pending_outbox(1).await.expect("outbox").is_empty()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the hub did not settle within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
