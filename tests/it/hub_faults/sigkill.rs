//! `samverkan run` killed with SIGKILL and started again.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// SIGKILL mid-stream.

/// `samverkan run` as a child process; killed when dropped.
pub(crate) struct ProcessHub {
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

impl ProcessHub {
    pub(crate) fn start(env: &[(&'static str, String)], log: &Path) -> Self {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("hub log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_samverkan"));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SAMVERKAN")) {
            command.env_remove(key);
        }
        let child = command
            .arg("run")
            .env_remove("RUST_LOG")
            .env("SAMVERKAN_CONFIG", "config/sample.toml")
            .env("SAMVERKAN__HUB__FIXED_DATE", "2026-11-22")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(repo_path(""))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn `samverkan run`");
        Self {
            child,
            log: log.to_owned(),
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(0);
        log[start..].to_owned()
    }

    pub(crate) fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "`samverkan run` exited ({status}); its log ends:\n{}",
                self.log_tail()
            );
        }
    }

    /// SIGKILL, and reap it.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, and wait for a clean stop.
    pub(crate) async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "`samverkan run` ignored SIGTERM for 30 s; its log ends:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ProcessHub {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_sigkilled_hub_restarts_and_every_event_counts_once() {
    let dir = TempDir::new().expect("temp dir");
    let store_url = format!("sqlite://{}", dir.path().join("hub.db").display());
    sigkill_mid_stream(&store_url, &dir).await;
}

/// The same on PostgreSQL, where several batches are written at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_sigkilled_hub_on_postgres_restarts_and_every_event_counts_once() {
    let database = PgDatabase::create().await;
    let dir = TempDir::new().expect("temp dir");
    sigkill_mid_stream(&database.url, &dir).await;
}

/// Deliveries committed in batches so far, from the hub's `/metrics` at `address`.
async fn batched_deliveries(address: &str) -> u64 {
    let text = reqwest::get(format!("http://{address}/metrics"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix("samverkan_batched_deliveries_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no batch counter in /metrics:\n{text}"))
}

/// 250 needs, then answers, through a hub that is SIGKILLed twice while batches of them are
/// being written (every delivery of the first run is counted in its batches).
async fn sigkill_mid_stream(store_url: &str, dir: &TempDir) {
    const NEEDS: usize = 250;
    const ANSWERED_NEEDS: usize = 125;
    const ANSWERS_PER_NEED: usize = 2;
    /// Needs stored before the first kill, and answers stored before the second.
    const KILL_AFTER: usize = 40;
    let started = Instant::now();
    let vhost = Vhost::create().await;
    let mut env = hub_env(&vhost, store_url, "kill");
    // What a killed run had claimed but not confirmed waits out the lease before the next run
    // publishes it; a short one keeps the test quick.
    env.push(("SAMVERKAN__HUB__RELAY_LEASE_SECS", "3".to_owned()));
    env.push(("SAMVERKAN__AMQP__CONFIRM_TIMEOUT_MS", "1000".to_owned()));
    let users = broker_users(&load_settings(&env));
    let log = dir.path().join("hub.log");
    let vgr_queue = Topology::org_queue_name("VGR");

    // First run: 250 needs; SIGKILL once 40 needs are stored. It serves /metrics, to show that
    // batches were being committed when it was killed.
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let mut first_env = env.clone();
    first_env.push(("SAMVERKAN__HTTP__LISTEN", metrics.clone()));
    let mut hub = ProcessHub::start(&first_env, &log);
    let deadline = Instant::now() + Duration::from_secs(30);
    while vhost.queue_counts(&vgr_queue).await.is_none() {
        hub.assert_running();
        assert!(
            Instant::now() < deadline,
            "the hub did not declare its topology within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let needs = need_events("NEED-KILL", NEEDS);
    let ids: BTreeSet<String> = needs
        .iter()
        .filter_map(|(_, e)| e.subject.clone())
        .collect();
    // Four fifths now, the rest while the hub is dead, so the kill always leaves work behind.
    let (now_part, later_part) = needs.split_at(NEEDS * 4 / 5);
    vhost.publish(now_part.to_vec()).await;
    let mut vgr = Watch::open(&vhost, &vgr_queue).await;
    let db = sql_pool(store_url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT count(*) FROM needs", &[]).await < KILL_AFTER as i64 {
        hub.assert_running();
        assert!(
            Instant::now() < deadline,
            "no {KILL_AFTER} needs stored within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let batched = batched_deliveries(&metrics).await;
    hub.kill();
    let at_kill = count(&db, "SELECT count(*) FROM needs", &[]).await;
    assert!(batched > 0, "no batch was committed before the kill");
    vgr.poll().await;
    eprintln!(
        "SIGKILL 1 after {:?}: {batched} deliveries committed in batches, {} statuses out, \
         {at_kill} of {} published needs stored",
        started.elapsed(),
        vgr.statuses().count(),
        now_part.len()
    );
    vhost.publish(later_part.to_vec()).await;

    // Second run, on the same store and vhost: the rest of the needs; then answers, and a
    // SIGKILL once 40 statuses counting answers are out.
    let mut hub = ProcessHub::start(&env, &log);
    vgr.wait_until_published(&ids, || hub.assert_running())
        .await;
    eprintln!("{NEEDS} needs published after {:?}", started.elapsed());
    let store = Store::connect(store_url).await.expect("store");
    let mut rng = Rng(0x0c1a_551c);
    // The hub's clock is pinned to noon of the reference date: answer within the hour before.
    let now = time::macros::datetime!(2026-11-22 12:00 UTC);
    let base = now.replace_nanosecond(0).expect("whole second") - time::Duration::hours(1);
    let mut answers = Vec::new();
    for id in ids.iter().take(ANSWERED_NEEDS) {
        let record = store
            .need(&crate::need_key("VGR", id))
            .await
            .expect("read")
            .expect("stored");
        answers.extend(answers_for(
            &record,
            ANSWERS_PER_NEED,
            base,
            false,
            &mut rng,
            &users,
        ));
    }
    rng.shuffle(&mut answers);
    // Three quarters now, the rest while the hub is dead: however fast the hub is on a quiet
    // machine or slow on a loaded one, the kill always leaves work for the next run.
    let (now_part, later_part) = answers.split_at(answers.len() * 3 / 4);
    vhost.publish(now_part.to_vec()).await;
    // Watch the store, not the region's queue: the queue lags the commits by a relay pass.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT count(*) FROM answers", &[]).await < KILL_AFTER as i64 {
        hub.assert_running();
        assert!(
            Instant::now() < deadline,
            "no {KILL_AFTER} answers stored within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hub.kill();
    let at_kill = count(&db, "SELECT count(*) FROM answers", &[]).await;
    eprintln!(
        "SIGKILL 2 after {:?}: {at_kill} of {} published answers stored",
        started.elapsed(),
        now_part.len()
    );
    vhost.publish(later_part.to_vec()).await;

    // Third run: everything else; then a clean stop.
    let mut hub = ProcessHub::start(&env, &log);
    let total = answers.len() as i64;
    wait_until_settled(
        "after the second SIGKILL",
        Duration::from_secs(60),
        &vhost,
        &store,
        async || count(&db, "SELECT count(*) FROM answers", &[]).await >= total,
        || hub.assert_running(),
    )
    .await;
    let status = hub.terminate().await;
    assert!(status.success(), "`samverkan run` stopped with {status}");
    eprintln!("settled after {:?}", started.elapsed());

    // On the wire: every need has its status (duplicates allowed).
    vgr.poll().await;
    assert!(vgr.subjects_in("published").is_superset(&ids));
    let distinct: BTreeSet<&str> = vgr.statuses().filter_map(|e| e["id"].as_str()).collect();
    eprintln!(
        "{} statuses taken from VGR's queue, {} of them published again after a kill",
        vgr.statuses().count(),
        vgr.statuses().count() - distinct.len()
    );
    vgr.close().await;
    // In the store: every event exactly once.
    assert_each_event_counted_once(&store, &db, &needs, &answers).await;
    assert_eq!(
        vhost
            .queue_counts(HUB_DEAD_QUEUE)
            .await
            .map(|(ready, _)| ready),
        Some(0),
        "nothing was refused or dead-lettered"
    );
    db.close().await;
    store.close().await;
    eprintln!("SIGKILL mid-stream: {:?}", started.elapsed());
}
