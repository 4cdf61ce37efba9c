//! How long the console's pages take with 10,000 needs in the store (docs/benchmarks.md,
//! "Console").
//!
//! ```sh
//! cargo run --release --example console_pages                    # a fresh SQLite file
//! cargo run --release --example console_pages -- postgres://postgres@127.0.0.1:5432/bench
//! ```
//!
//! Seeds the store straight through the store API (10,000 needs of two regions, three
//! recipients and an audit entry each, 1,000 refusals in the last hour), serves the hub's HTTP
//! router with the console on a free port, logs in as an operator and as a coach, and asks
//! for each page 30 times: the median and the slowest answer, measured at the client.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use samverkan::clock::SystemClock;
use samverkan::console::{Console, hash_password};
use samverkan::hub::App;
use samverkan::need::{NeedId, NeedKey, NeedState, RecipientKind};
use samverkan::settings::{self, ConsoleRole, ConsoleSettings, ConsoleUser, OrgId};
use samverkan::store::{AuditAction, AuditEntry, NewNeed, NewRecipient, ReasonCode, Store};
use samverkan::transport::Shutdown;
use serde_json::json;

const NEEDS: usize = 10_000;
const RUNS: usize = 30;
const TOPICS: [&str; 6] = [
    "patient-flow",
    "elderly-care",
    "diagnostics",
    "digital-health",
    "emergency-care",
    "data-analytics",
];
const STATES: [NeedState; 4] = [
    NeedState::Published,
    NeedState::Answered,
    NeedState::Unmatched,
    NeedState::Closed,
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample.toml");
    let env = HashMap::from([("SAMVERKAN__STORE__URL".to_owned(), url.clone())]);
    let settings = settings::load_from(Some(&config), env)?;
    let app = App::build(&settings, Arc::new(SystemClock), None).await?;
    let store = app.pipeline().store().clone();
    let started = Instant::now();
    seed(&store).await?;
    println!(
        "store {}: seeded {NEEDS} needs in {:.1} s",
        store.backend(),
        started.elapsed().as_secs_f64()
    );

    let hash = hash_password("bench")?;
    let user = |name: &str, role, region: Option<&str>| ConsoleUser {
        name: name.to_owned(),
        role,
        region: region.map(|r| OrgId::parse(r).expect("org id")),
        password_hash: Some(hash.clone()),
        password_hash_env: None,
    };
    let console = ConsoleSettings {
        enabled: true,
        users: vec![
            user("operator", ConsoleRole::Operator, None),
            user("coach-vgr", ConsoleRole::Coach, Some("VGR")),
        ],
        session_key_env: String::new(),
        session_hours: 8,
        secure_cookie: false,
        session_key: None,
    };
    let console = Console::from_settings(&console, None)?.expect("enabled");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (trigger, shutdown) = Shutdown::new();
    let state = samverkan::http::HttpState {
        pipeline: app.pipeline().clone(),
        broker: None,
        publisher: None,
        console: Some(Arc::new(console)),
    };
    tokio::spawn(samverkan::http::serve(listener, state, shutdown));

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let operator = login(&client, &base, "operator").await?;
    let coach = login(&client, &base, "coach-vgr").await?;
    let pages = [
        ("login form (no health strip)", "/console/login", &operator),
        (
            "needs, every region (operator)",
            "/console/needs",
            &operator,
        ),
        ("needs, page 100", "/console/needs?page=100", &operator),
        (
            "needs, state + topic + 30 days",
            "/console/needs?state=published&topic=diagnostics&age_days=30",
            &operator,
        ),
        ("needs, one region (coach)", "/console/needs", &coach),
        (
            "a need (coach)",
            "/console/needs/VGR/NEED-2026-4000",
            &coach,
        ),
    ];
    println!("{:<34} {:>9} {:>9}", "page", "median", "slowest");
    for (name, path, cookie) in pages {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let start = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .header("cookie", cookie.as_str())
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            times.push(start.elapsed());
            anyhow::ensure!(status.is_success(), "{path}: {status}");
        }
        times.sort_unstable();
        println!(
            "{name:<34} {:>7.1}ms {:>7.1}ms",
            ms(times[RUNS / 2]),
            ms(times[RUNS - 1])
        );
    }
    trigger.trigger();
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The session cookie of `name`, logged in through the form.
async fn login(client: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<String> {
    let form = client.get(format!("{base}/console/login")).send().await?;
    let pre = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next().filter(|p| p.starts_with("svk_login=")))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no login cookie"))?;
    let body = form.text().await?;
    let start = body
        .find("name=\"csrf\" value=\"")
        .ok_or_else(|| anyhow::anyhow!("no csrf"))?
        + 19;
    let csrf = &body[start..start + body[start..].find('"').unwrap_or(0)];
    let fields = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("username", name), ("password", "bench"), ("csrf", csrf)])
        .finish();
    let response = client
        .post(format!("{base}/console/login"))
        .header("cookie", pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(fields)
        .send()
        .await?;
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.split(';')
                .next()
                .filter(|p| p.starts_with("svk_session="))
        })
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("{name}: login failed"))
}

/// 10,000 needs of VGR and RV in batches of 500, each with three recipients and a `routed`
/// audit entry; 1,000 refusals.
async fn seed(store: &Store) -> anyhow::Result<()> {
    const PII: ReasonCode = ReasonCode::new("personal_data");
    let orgs = [
        ("chalmers", RecipientKind::University),
        ("mdu", RecipientKind::University),
        ("partner-001", RecipientKind::Company),
    ];
    for batch in 0..NEEDS / 500 {
        let mut tx = store.begin().await?;
        for i in batch * 500..(batch + 1) * 500 {
            let region = OrgId::parse(if i % 2 == 0 { "VGR" } else { "RV" })?;
            let need_id = NeedId::parse(&format!("NEED-2026-{i:04}"))?;
            let topic = TOPICS[i % TOPICS.len()];
            tx.insert_need(&NewNeed {
                need_id: need_id.clone(),
                region: region.clone(),
                state: STATES[i % STATES.len()],
                state_reason: None,
                respond_by: None,
                view: json!({"needId": need_id.as_str(), "region": region.as_str(),
                    "title": "Benchmark need", "description": "Text that the console never shows.",
                    "category": topic, "tags": [topic, TOPICS[(i + 1) % TOPICS.len()]],
                    "urgency": "medium"})
                .to_string(),
            })
            .await?;
            let recipients: Vec<NewRecipient> = orgs
                .iter()
                .map(|(org, kind)| NewRecipient {
                    org_id: OrgId::parse(org).expect("org id"),
                    kind: *kind,
                    score: 0.5,
                    reasons: vec![format!("topics: {topic}")],
                    courses: json!([]),
                })
                .collect();
            let key = NeedKey::new(region.clone(), need_id.clone());
            tx.insert_recipients(&key, &recipients).await?;
            tx.audit(&AuditEntry {
                need_id: Some(need_id),
                region: Some(region.clone()),
                org: Some(region),
                ..AuditEntry::new(AuditAction::Routed)
            })
            .await?;
            if i % 10 == 0 {
                tx.audit(&AuditEntry {
                    reason: Some(PII),
                    ..AuditEntry::new(AuditAction::Rejected)
                })
                .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(())
}
