//! PostgreSQL side: a database per test, counting rows.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// SQL for what the store has no read API for (the fresh PostgreSQL database per test is
// `helpers::PgDatabase`).

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
