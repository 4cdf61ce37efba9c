//! `samverkan bench`'s logic on the real RabbitMQ with a small load: the report must add up
//! (every need's fan-out arrived in both runs, counts are N × fan-out, latencies are ordered)
//! and the throwaway vhosts must be gone afterwards. No timing thresholds: figures depend on
//! the machine; consistency does not. Each worker runs as a process of the `samverkan` binary,
//! whose own CPU time and memory the report carries.

use std::collections::HashMap;

use samverkan::loadgen::{self, BenchOptions, LoadgenError, RunReport, StoreChoice, WorkerProgram};
use samverkan::onboard::Management;
use samverkan::settings;

use crate::{amqp_url, chain, management_url};

const NEEDS: usize = 50;

fn check_run(run: &RunReport, fan_out: u32) {
    let name = run.run;
    assert_eq!(run.messages_in, NEEDS as u64, "{name}");
    assert_eq!(
        run.complete_needs, NEEDS,
        "{name}: every need's fan-out arrived"
    );
    assert_eq!(
        run.expected_out,
        NEEDS as u64 * u64::from(fan_out),
        "{name}"
    );
    assert_eq!(
        run.messages_out,
        run.expected_out + run.duplicates,
        "{name}: out = N × fan-out (+ copies)"
    );
    assert_eq!(run.unexpected, 0, "{name}");
    assert!(
        run.duration_secs > 0.0 && run.msgs_in_per_sec > 0.0,
        "{name}"
    );
    let w = run.worker;
    assert!(
        w.cpu_ms_per_need.is_some_and(|ms| ms >= 0.0),
        "{name}: the worker process's own CPU time: {w:?}"
    );
    assert!(
        w.peak_rss_kib.is_some_and(|k| k > 0) && w.rss_kib.is_some_and(|k| k > 0),
        "{name}: {w:?}"
    );
    assert!(w.peak_rss_kib >= w.rss_kib, "{name}: {w:?}");
    let l = run.latency_ms;
    assert!(l.min > 0.0, "{name}: latencies are positive: {l:?}");
    assert!(
        l.min <= l.p50 && l.p50 <= l.p99 && l.p99 <= l.max,
        "{name}: {l:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_bench_adds_up_in_both_runs_and_leaves_no_vhost() {
    let env = HashMap::from([
        ("SAMVERKAN__AMQP__URL".to_owned(), amqp_url()),
        (
            "SAMVERKAN__AMQP__MANAGEMENT_URL".to_owned(),
            management_url(),
        ),
    ]);
    let settings = settings::load_from(None, env.clone()).expect("settings");
    let options = BenchOptions {
        needs: NEEDS,
        store: StoreChoice::Sqlite,
        worker: worker_program(env),
        ..BenchOptions::default()
    };
    let report = match loadgen::run(&settings, &options).await {
        Ok(report) => report,
        Err(e) => panic!(
            "the bench needs RabbitMQ with its management API (scripts/test starts one):\n{}",
            chain(&e)
        ),
    };
    // NEED-2026-0101 is published: a status to VGR and a challenge or call per recipient.
    assert!(report.fan_out >= 2, "{report:?}");
    assert_eq!(report.destinations.len(), report.fan_out as usize);
    assert_eq!(
        report.destinations.last().map(String::as_str),
        Some("VGR.se.samverkan.need.status.v1")
    );
    check_run(&report.hub, report.fan_out);
    check_run(&report.pass_through, report.fan_out);
    assert_eq!(report.needs, NEEDS);
    assert!(report.ratio.throughput > 0.0, "{:?}", report.ratio);
    assert!(report.load_generator_peak_rss_kib.is_some_and(|k| k > 0));
    // CPU time is counted in 10 ms ticks: the hub's 50 needs take many, the pass-through's
    // (~0.4 ms per need in a debug build) may round to one or two, so only the hub's is sure.
    let cpu = report.hub.worker.cpu_ms_per_need.unwrap_or_default();
    assert!(cpu > 0.0, "the hub process's CPU per need: {report:?}");
    // The machine's CPU holds the hub's; the test broker runs on this machine.
    let machine = report.hub.machine;
    assert!(
        machine.cpu_ms_per_need.is_some_and(|ms| ms > 0.0),
        "the machine's CPU per need: {machine:?}"
    );
    if amqp_url().contains("@127.0.0.1:") || amqp_url().contains("@localhost:") {
        assert!(
            machine.broker_cpu_ms_per_need.is_some(),
            "RabbitMQ's process on this machine: {machine:?}"
        );
    }
    // SQLite writes happen in the hub's process, the pass-through writes no store.
    let written = |r: &RunReport| r.worker.write_bytes_per_need.unwrap_or_default();
    assert!(
        written(&report.hub) > written(&report.pass_through),
        "{report:?}"
    );
    assert!(!report.broker.contains("guest:guest"), "{}", report.broker);

    let management =
        Management::new(&settings.amqp.management_url, &settings.amqp.url).expect("management");
    assert_eq!(report.vhosts.len(), 2);
    for vhost in &report.vhosts {
        let exists = management
            .vhost_exists(vhost)
            .await
            .expect("management API");
        assert!(!exists, "vhost {vhost} is left behind");
    }
    // The run's own broker user (a concurrent bench has another) is deleted with its vhosts.
    let user = report.vhosts[0]
        .strip_suffix("-hub")
        .expect("the hub run's vhost");
    assert!(user.starts_with(loadgen::BENCH_USER), "{user}");
    let left = management.user(user).await.expect("management API");
    assert!(left.is_none(), "bench user {user} is left behind");
}

/// The `samverkan` binary as the worker, with the test's environment.
fn worker_program(env: HashMap<String, String>) -> WorkerProgram {
    WorkerProgram {
        exe: Some(env!("CARGO_BIN_EXE_samverkan").into()),
        config: None,
        env: env.into_iter().collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_cannot_start_fails_the_run_with_its_own_words() {
    let env = HashMap::from([
        ("SAMVERKAN__AMQP__URL".to_owned(), amqp_url()),
        (
            "SAMVERKAN__AMQP__MANAGEMENT_URL".to_owned(),
            management_url(),
        ),
    ]);
    let settings = settings::load_from(None, env.clone()).expect("settings");
    // The worker loads its configuration itself; this one it refuses.
    let mut worker_env = env;
    worker_env.insert("SAMVERKAN__AMQP__PREFETCH".to_owned(), "many".to_owned());
    let options = BenchOptions {
        needs: 1,
        worker: worker_program(worker_env),
        ..BenchOptions::default()
    };
    let started = std::time::Instant::now();
    let err = loadgen::run(&settings, &options)
        .await
        .expect_err("the worker refuses its configuration");
    let text = chain(&err);
    assert!(
        matches!(err, LoadgenError::WorkerEnded { run: "hub", .. }),
        "{text}"
    );
    assert!(text.contains("exit status: 2"), "{text}");
    assert!(text.contains("prefetch"), "the worker's stderr: {text}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "no wait for a worker that is gone"
    );
}

#[tokio::test]
async fn an_unreachable_management_api_is_explained() {
    let env = HashMap::from([
        ("SAMVERKAN__AMQP__URL".to_owned(), amqp_url()),
        (
            "SAMVERKAN__AMQP__MANAGEMENT_URL".to_owned(),
            "http://127.0.0.1:1".to_owned(),
        ),
    ]);
    let settings = settings::load_from(None, env).expect("settings");
    let options = BenchOptions {
        needs: 1,
        ..BenchOptions::default()
    };
    let err = loadgen::run(&settings, &options)
        .await
        .expect_err("nothing listens on port 1");
    let text = chain(&err);
    assert!(matches!(err, LoadgenError::Management { .. }), "{text}");
    assert!(text.contains("rabbitmq_management"), "{text}");
    assert!(text.contains("rabbitmq-server -detached"), "{text}");
}
