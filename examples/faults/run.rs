//! One fault: set up, stream, break, repair, wait, count.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use samverkan::transport::{HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE, Topology};
use sqlx::AnyPool;
use sqlx::pool::PoolOptions;

use crate::broker::{Broker, Vhost, rabbitmqctl_async};
use crate::checks::{Counts, check};
use crate::hub::{Hub, free_port};
use crate::store::{PgDatabase, Proxy, SmallDisk, count};
use crate::stream::stream;
use crate::workload::need_events;
use crate::{Fault, Options};

/// How long the hub may take to serve again once a fault is over.
const RECOVERY_LIMIT: Duration = Duration::from_secs(120);
/// How long the hub may take to finish everything once the stream has ended.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

pub(crate) struct Outcome {
    fault: Fault,
    events: usize,
    counts: Counts,
    dead_lettered: u64,
    ready_after: Option<Duration>,
    status_after: Option<Duration>,
    settled: bool,
    pub notes: Vec<String>,
}

impl Outcome {
    pub(crate) fn header() -> String {
        format!(
            "{:<26} {:>6} {:>5} {:>10} {:>13} {:>5}  {:>12}  {:>11}",
            "fault",
            "events",
            "lost",
            "duplicated",
            "dead-lettered",
            "wrong",
            "recovered in",
            "dup on wire"
        )
    }

    pub(crate) fn line(&self) -> String {
        let recovered = match (self.ready_after, self.status_after) {
            (Some(a), Some(b)) => format!("{:.1} s", a.max(b).as_secs_f64()),
            _ => "never".to_owned(),
        };
        format!(
            "{:<26} {:>6} {:>5} {:>10} {:>13} {:>5}  {:>12}  {:>11}",
            self.fault.name(),
            self.events,
            self.counts.lost,
            self.counts.duplicated,
            self.dead_lettered,
            self.counts.wrong,
            recovered,
            self.counts.wire_duplicates
        )
    }

    pub(crate) fn passed(&self) -> bool {
        self.counts.lost == 0
            && self.counts.duplicated == 0
            && self.counts.wrong == 0
            && self.dead_lettered == 0
            && self.ready_after.is_some()
            && self.status_after.is_some()
            && self.settled
    }
}

pub(crate) async fn run(fault: Fault, o: &Options) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let vhost = Vhost::create(fault.name())?;
    let mut notes = Vec::new();
    let (mut pg, mut proxy, mut disk) = (None, None, None);
    let (hub_url, direct_url) = match fault {
        Fault::SqliteDiskFull => {
            let small = SmallDisk::new(o.disk.as_deref().context("--disk (a small tmpfs)")?)?;
            let url = format!("sqlite://{}", small.dir.join("hub.db").display());
            disk = Some(small);
            (url.clone(), url)
        }
        _ => {
            let database = PgDatabase::create(&o.pg_admin_url, fault.name()).await?;
            let direct = database.url.clone();
            pg = Some(database);
            if fault == Fault::PgUnreachable {
                let p = Proxy::start().await?;
                let through = direct.replace("127.0.0.1:5432", &p.address.to_string());
                proxy = Some(p);
                (through, direct)
            } else {
                (direct.clone(), direct)
            }
        }
    };
    let logs = o.repo.join("target/faults");
    std::fs::create_dir_all(&logs)?;
    let log = logs.join(format!("{}.log", fault.name()));
    std::fs::write(&log, "")?;
    let env = vec![
        (
            "SAMVERKAN__AMQP__URL".to_owned(),
            vhost.url("guest", "guest"),
        ),
        // The hub sets its queue policies through the management API of the same broker.
        (
            "SAMVERKAN__AMQP__MANAGEMENT_URL".to_owned(),
            Broker::get().management_url(),
        ),
        (
            "SAMVERKAN__AMQP__CONNECTION_NAME".to_owned(),
            format!("hub-{}", vhost.name),
        ),
        ("SAMVERKAN__STORE__URL".to_owned(), hub_url),
        (
            "SAMVERKAN__HTTP__LISTEN".to_owned(),
            format!("127.0.0.1:{}", free_port()?),
        ),
    ];
    let mut hub = Hub::start(&o.hub, &o.repo, env, &log)?;
    let vgr_queue = Topology::org_queue_name("VGR");
    let deadline = Instant::now() + Duration::from_secs(60);
    while hub.readyz().await != 200 || vhost.ready(&vgr_queue).await.is_none() {
        hub.check_running()?;
        if Instant::now() > deadline {
            bail!("the hub was not ready within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let db: AnyPool = PoolOptions::new()
        .max_connections(2)
        .connect(&direct_url)
        .await?;
    let settings =
        samverkan::settings::load_from(Some(&o.repo.join("config/sample.toml")), HashMap::new())?;
    let users: HashMap<String, String> = settings
        .organisations
        .iter()
        .map(|org| (org.id.to_string(), org.broker_user.clone()))
        .collect();

    // The stream, on a task of its own; the fault comes once a third of the needs are stored.
    let needs = need_events(&o.repo, "NEED-FLT", o.needs)?;
    let stream = tokio::spawn(stream(
        vhost.publisher_url(),
        needs.clone(),
        db.clone(),
        users,
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&db, "SELECT count(*) FROM needs").await.unwrap_or(0) < (o.needs / 3) as i64 {
        hub.check_running()?;
        if Instant::now() > deadline {
            bail!("a third of the needs were not stored within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored_at_fault = count(&db, "SELECT count(*) FROM needs").await?;
    eprintln!(
        "faults: {}: breaking it after {:.1} s, {stored_at_fault} needs stored",
        fault.name(),
        started.elapsed().as_secs_f64()
    );
    match fault {
        Fault::BrokerRestart => {
            rabbitmqctl_async(&["stop_app"]).await?;
            tokio::time::sleep(fault.outage()).await;
            rabbitmqctl_async(&["start_app"]).await?;
        }
        Fault::HubSigkill => {
            hub.kill()?;
            tokio::time::sleep(fault.outage()).await;
            hub.restart()?;
        }
        Fault::PgUnreachable => {
            let p = proxy.as_mut().context("proxy")?;
            p.stop().await;
            tokio::time::sleep(fault.outage()).await;
            p.restart().await?;
        }
        Fault::PgReadOnly => {
            let database = pg.as_ref().context("database")?;
            database.set_read_only(true).await?;
            tokio::time::sleep(fault.outage()).await;
            database.set_read_only(false).await?;
        }
        Fault::SqliteDiskFull => {
            let small = disk.as_ref().context("disk")?;
            let filled = small.fill()?;
            notes.push(format!("filled the disk with {} MiB", filled >> 20));
            tokio::time::sleep(fault.outage()).await;
            small.free()?;
        }
    }
    let repaired = Instant::now();

    // Recovery: `/readyz` 200 again, and a new status on the region's queue.
    let (mut ready_after, mut status_after, mut baseline) = (None, None, None);
    while ready_after.is_none() || status_after.is_none() {
        hub.check_running()?;
        if repaired.elapsed() > RECOVERY_LIMIT {
            break;
        }
        if ready_after.is_none() && hub.readyz().await == 200 {
            ready_after = Some(repaired.elapsed());
        }
        if status_after.is_none()
            && let Some(now) = vhost.ready(&vgr_queue).await
        {
            match baseline {
                None => baseline = Some(now),
                Some(before) if now > before => status_after = Some(repaired.elapsed()),
                Some(_) => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Let the stream end and the hub finish everything.
    let streamed = match tokio::time::timeout(SETTLE_LIMIT, stream).await {
        Ok(joined) => joined?,
        Err(_) => bail!("the stream did not end within {SETTLE_LIMIT:?}"),
    };
    if let Some(error) = &streamed.error {
        notes.push(format!("stream: {error}"));
    }
    if streamed.republished > 0 {
        notes.push(format!(
            "{} publishes to ingress repeated after the broker went away",
            streamed.republished
        ));
    }
    let settled = settle(&hub, &vhost, &db, needs.len(), streamed.answers.len()).await;
    if !settled {
        notes.push(format!("the hub did not finish within {SETTLE_LIMIT:?}"));
    }
    hub.check_running()?;
    hub.terminate().await?;

    let counts = check(&db, &vhost, &needs, &streamed.answers).await?;
    let dead_lettered = vhost
        .messages()
        .await?
        .get(HUB_DEAD_QUEUE)
        .copied()
        .context("the vhost has no dead-letter queue")?;
    notes.extend(counts.notes.iter().cloned());
    let warnings: Vec<String> = hub
        .warnings()
        .into_iter()
        .filter(|l| !l.contains("clock pinned"))
        .collect();
    if !warnings.is_empty() {
        notes.push(format!(
            "{} WARN/ERROR lines in {}; the first: {}",
            warnings.len(),
            log.display(),
            warnings[0]
        ));
    }
    notes.push(format!(
        "whole run {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    db.close().await;
    if let Some(small) = &disk {
        let size: u64 = std::fs::read_dir(&small.dir)?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        notes.push(format!("the SQLite store takes {} MiB", size >> 20));
    }
    drop((pg, proxy, disk));
    Ok(Outcome {
        fault,
        events: needs.len() + streamed.answers.len(),
        counts,
        dead_lettered,
        ready_after,
        status_after,
        settled,
        notes,
    })
}

/// Wait (at most [`SETTLE_LIMIT`]) until every event is stored, ingress holds nothing (ready or
/// unacknowledged) and the outbox is flushed.
async fn settle(hub: &Hub, vhost: &Vhost, db: &AnyPool, needs: usize, answers: usize) -> bool {
    let deadline = Instant::now() + SETTLE_LIMIT;
    let _ = hub;
    while Instant::now() < deadline {
        let stored = count(db, "SELECT count(*) FROM needs").await.unwrap_or(-1);
        let recorded = count(db, "SELECT count(*) FROM answers")
            .await
            .unwrap_or(-1);
        let unsent = count(db, "SELECT count(*) FROM outbox WHERE sent_at_ms IS NULL")
            .await
            .unwrap_or(-1);
        if stored == needs as i64 && recorded >= answers as i64 && unsent == 0 {
            let ingress = vhost
                .messages()
                .await
                .ok()
                .and_then(|m| m.get(HUB_INGRESS_QUEUE).copied());
            if ingress == Some(0) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}
