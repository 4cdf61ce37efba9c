//! Two hub instances on one PostgreSQL.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Two hub instances on one PostgreSQL database.

/// A hub served on its own thread and runtime; shut down when stopped or dropped.
pub(crate) struct ThreadHub {
    pub(crate) trigger: ShutdownTrigger,
    pub(crate) thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadHub {
    pub(crate) fn spawn(settings: Settings) -> Self {
        let (trigger, shutdown) = Shutdown::new();
        let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime
                .block_on(serve(&settings, clock, shutdown))
                .expect("the hub starts");
        });
        Self {
            trigger,
            thread: Some(thread),
        }
    }

    pub(crate) fn assert_running(&self) {
        let stopped = self.thread.as_ref().is_none_or(|t| t.is_finished());
        assert!(
            !stopped,
            "a hub instance stopped early (its panic is above)"
        );
    }

    pub(crate) async fn stop(mut self) {
        self.trigger.trigger();
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .expect("join")
                .expect("the hub thread ends cleanly");
        }
    }
}

impl Drop for ThreadHub {
    fn drop(&mut self) {
        self.trigger.trigger();
    }
}

pub(crate) fn hub_env(vhost: &Vhost, store_url: &str, name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SAMVERKAN__AMQP__URL", vhost.url("guest", "guest")),
        // The hub sets its queue policies through the management API of the same broker.
        ("SAMVERKAN__AMQP__MANAGEMENT_URL", crate::management_url()),
        (
            "SAMVERKAN__AMQP__CONNECTION_NAME",
            format!("hub-{name}-{}", vhost.name),
        ),
        ("SAMVERKAN__STORE__URL", store_url.to_owned()),
    ]
}

pub(crate) fn load_settings(env: &[(&'static str, String)]) -> Settings {
    let env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    settings::load_from(Some(&repo_path("config/sample.toml")), env).expect("settings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn two_hubs_on_one_postgres_lose_and_double_no_answer() {
    const NEEDS: usize = 200;
    const ANSWERS_PER_NEED: usize = 10;
    let started = Instant::now();
    let database = PgDatabase::create().await;
    let vhost = Vhost::create().await;
    // No hub dies here, so a long relay lease costs nothing, and a batch slowed down by a
    // loaded machine is not published by both relays (see `assert_statuses_not_doubled`).
    let env = |name| {
        let mut env = hub_env(&vhost, &database.url, name);
        env.push(("SAMVERKAN__HUB__RELAY_LEASE_SECS", "60".to_owned()));
        env
    };
    let settings = load_settings(&env("a"));
    let users = broker_users(&settings);
    // Both start at once, so they also race to migrate the fresh database.
    let hubs = [
        ThreadHub::spawn(settings),
        ThreadHub::spawn(load_settings(&env("b"))),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(vhost.queue_counts(HUB_INGRESS_QUEUE).await, Some((_, 2))) {
        hubs.iter().for_each(ThreadHub::assert_running);
        assert!(
            Instant::now() < deadline,
            "two hubs did not consume ingress within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("two hubs up after {:?}", started.elapsed());

    // 200 needs, each published.
    let needs = need_events("NEED-LOAD", NEEDS);
    let ids: BTreeSet<String> = needs
        .iter()
        .filter_map(|(_, e)| e.subject.clone())
        .collect();
    vhost.publish(needs.clone()).await;
    let mut vgr = Watch::open(&vhost, &Topology::org_queue_name("VGR")).await;
    vgr.wait_until_published(&ids, || hubs.iter().for_each(ThreadHub::assert_running))
        .await;
    eprintln!("{NEEDS} needs published after {:?}", started.elapsed());

    // 2,000 answers to the recipients each need actually got, one publisher per organisation,
    // all at once. A need's answers are published together (shuffled among themselves), so the
    // two hubs, which take turns at the queue, work on the same need at the same time.
    let store = Store::connect(&database.url).await.expect("store");
    let mut rng = Rng(0x5a3e_u64);
    let base = datetime!(2026-11-23 09:00 UTC);
    let mut answers = Vec::with_capacity(NEEDS * ANSWERS_PER_NEED);
    for (i, id) in ids.iter().enumerate() {
        let record = store
            .need(&crate::need_key("VGR", id))
            .await
            .expect("read")
            .expect("stored");
        assert!(
            record
                .recipients
                .iter()
                .any(|r| r.kind == RecipientKind::University),
            "{id}: no university got the challenge"
        );
        // Every fifth need is only declined, so it stays `published`.
        let declines_only = i % 5 == 4;
        let mut group = answers_for(
            &record,
            ANSWERS_PER_NEED,
            base,
            declines_only,
            &mut rng,
            &users,
        );
        rng.shuffle(&mut group);
        answers.extend(group);
    }
    // Each answer goes out twice in a row (a producer's re-send), so the two copies usually
    // reach different hubs at the same time: the inbox must let only one of them count.
    let mut by_user: BTreeMap<String, Vec<(String, CloudEvent)>> = BTreeMap::new();
    for (user, event) in &answers {
        let batch = by_user.entry(user.clone()).or_default();
        batch.push((user.clone(), event.clone()));
        batch.push((user.clone(), event.clone()));
    }
    let publishers: Vec<_> = by_user
        .into_values()
        .map(|batch| tokio::spawn(publish(vhost.url(RELAY_USER, RELAY_PASSWORD), batch)))
        .collect();
    let publishing = Instant::now();
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    eprintln!(
        "{} answers published twice each in {:?}",
        answers.len(),
        publishing.elapsed()
    );

    let db = sql_pool(&database.url).await;
    let total = answers.len() as i64;
    wait_until_settled(
        "answers",
        Duration::from_secs(90),
        &vhost,
        &store,
        async || count(&db, "SELECT count(*) FROM answers", &[]).await >= total,
        || hubs.iter().for_each(ThreadHub::assert_running),
    )
    .await;
    eprintln!(
        "answers reconciled {:?} after publishing",
        publishing.elapsed()
    );
    assert_each_event_counted_once(&store, &db, &needs, &answers).await;
    assert_statuses_not_doubled(&mut vgr, &db).await;
    vgr.close().await;
    assert_eq!(
        vhost.queue_counts(HUB_DEAD_QUEUE).await,
        Some((0, 0)),
        "nothing was refused or dead-lettered"
    );
    db.close().await;
    store.close().await;
    for hub in hubs {
        hub.stop().await;
    }
    eprintln!("two hubs on one PostgreSQL: {:?}", started.elapsed());
}

/// The two relays share the outbox (each claims the rows it publishes), so VGR gets every
/// status once, not once per hub. A few duplicates are allowed: a publish whose confirm was
/// lost is retried, and may have reached the queue the first time too.
pub(crate) async fn assert_statuses_not_doubled(vgr: &mut Watch, db: &AnyPool) {
    // The outbox is flushed, so every status is in the queue by now.
    vgr.poll().await;
    let taken = vgr.statuses().count();
    let distinct: BTreeSet<&str> = vgr.statuses().filter_map(|e| e["id"].as_str()).collect();
    let sent = count(
        db,
        "SELECT count(*) FROM outbox WHERE routing_key = $1",
        &[status_key().as_str()],
    )
    .await;
    eprintln!(
        "{taken} statuses taken from VGR's queue, {} distinct, {sent} in the outbox",
        distinct.len()
    );
    assert_eq!(distinct.len() as i64, sent, "every status reached VGR");
    assert!(
        taken <= distinct.len() + distinct.len() / 20,
        "{taken} statuses on the wire for {} events: the relays published the same rows",
        distinct.len()
    );
}
