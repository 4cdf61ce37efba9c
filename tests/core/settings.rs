//! Layered settings: defaults, file and environment, and the errors an operator sees.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use samverkan::pii::PiiPolicy;
use samverkan::schema::is_organisationsnummer;
use samverkan::settings::{self, LogFormat, OrgKind, Settings, SettingsError};
use samverkan::store::Retention;
use serde_json::Value;
use tempfile::TempDir;

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A temporary directory holding `settings.toml` with `contents`.
fn config_file(contents: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, contents).expect("write config file");
    (dir, path)
}

/// The error of loading `contents` as the config file, as the operator would read it.
fn file_error(contents: &str) -> (SettingsError, String) {
    let (_dir, path) = config_file(contents);
    let err = settings::load_from(Some(&path), HashMap::new()).expect_err("must be refused");
    let message = err.to_string();
    (err, message)
}

fn org_table(id: &str, kind: &str, user: &str, orgnr: Option<&str>) -> String {
    let orgnr = orgnr
        .map(|n| format!("organisationsnummer = \"{n}\"\n"))
        .unwrap_or_default();
    format!(
        "[[organisations]]\nid = \"{id}\"\nkind = \"{kind}\"\nbroker_user = \"{user}\"\n\
         display_name = \"Test {id}\"\n{orgnr}\n"
    )
}

#[test]
fn defaults_load_with_the_documented_values() {
    let s = settings::load_from(None, HashMap::new()).expect("defaults load");
    assert_eq!(s.amqp.url, "amqp://guest:guest@127.0.0.1:5672/%2f");
    assert_eq!(s.amqp.connection_name, "samverkan");
    assert_eq!(s.amqp.prefetch, 500);
    assert_eq!(s.amqp.confirm_window, 256);
    assert_eq!(s.amqp.delivery_limit, 5);
    assert_eq!(s.amqp.management_url, "http://127.0.0.1:15672");
    assert_eq!(s.limits.max_message_bytes, 1_048_576);
    assert_eq!(s.limits.max_depth, 32);
    assert_eq!(s.limits.to_limits(), samverkan::event::Limits::default());
    assert_eq!(s.log.level, "info");
    assert_eq!(s.log.format, LogFormat::Text);
    assert_eq!(s.pii.policy, PiiPolicy::Reject);
    assert!(s.organisations.is_empty());
}

#[test]
fn relay_and_retention_defaults_load_and_the_environment_overrides_them() {
    use samverkan::hub::outbox_relay::RelayConfig;
    use std::time::Duration;

    let s = settings::load_from(None, HashMap::new()).expect("defaults load");
    let relay = RelayConfig::from_settings(&s);
    assert_eq!(
        relay,
        RelayConfig::default(),
        "the documented relay defaults"
    );
    assert_eq!(s.hub.relay_max_message_bytes, 16 * 1024 * 1024);
    let day = Duration::from_secs(86_400);
    let retention = Retention::from_settings(&s.retention);
    assert_eq!(retention.outbox_sent, Some(7 * day));
    assert_eq!(retention.inbox, Some(30 * day));
    assert_eq!(retention.audit, Some(365 * day));
    assert_eq!(retention.feed, Some(30 * day));
    assert_eq!(retention.batch, 1000);
    assert_eq!(s.retention.interval(), Duration::from_secs(3600));

    let s = settings::load_from(
        None,
        env(&[
            ("SAMVERKAN__HUB__RELAY_BATCH_BYTES", "1024"),
            ("SAMVERKAN__HUB__RELAY_MAX_ATTEMPTS", "4"),
            ("SAMVERKAN__RETENTION__AUDIT_DAYS", "0"),
        ]),
    )
    .expect("overrides load");
    assert_eq!(RelayConfig::from_settings(&s).batch_bytes, 1024);
    assert_eq!(RelayConfig::from_settings(&s).max_attempts, 4);
    assert_eq!(
        Retention::from_settings(&s.retention).audit,
        None,
        "0 keeps for ever"
    );
    let err = settings::load_from(None, env(&[("SAMVERKAN__RETENTION__INBOX_DAYS", "2")]))
        .expect_err("an inbox kept two days");
    assert!(err.to_string().contains("retention.inbox_days"), "{err}");
}

#[test]
fn environment_overrides_defaults() {
    let s = settings::load_from(
        None,
        env(&[
            (
                "SAMVERKAN__AMQP__URL",
                "amqps://hub:pw@mq.example:5671/samverkan",
            ),
            ("SAMVERKAN__AMQP__PREFETCH", "50"),
            ("SAMVERKAN__AMQP__CONNECTION_NAME", "hub-2"),
            ("SAMVERKAN__LOG__FORMAT", "json"),
            ("SAMVERKAN__PII__POLICY", "redact"),
        ]),
    )
    .expect("loads");
    assert_eq!(s.amqp.url, "amqps://hub:pw@mq.example:5671/samverkan");
    assert_eq!(s.amqp.prefetch, 50);
    assert_eq!(s.amqp.connection_name, "hub-2");
    assert_eq!(s.log.format, LogFormat::Json);
    assert_eq!(s.pii.policy, PiiPolicy::Redact);
    assert_eq!(
        s.amqp.confirm_window, 256,
        "untouched keys keep their defaults"
    );
}

#[test]
fn file_overrides_defaults_and_environment_overrides_file() {
    let (_dir, path) = config_file(
        "[amqp]\nurl = \"amqp://file:filepw@file-host:5672/%2f\"\nprefetch = 100\n\
         [limits]\nmax_depth = 8\n",
    );
    let s = settings::load_from(Some(&path), HashMap::new()).expect("loads");
    assert_eq!(s.amqp.url, "amqp://file:filepw@file-host:5672/%2f");
    assert_eq!(s.amqp.prefetch, 100);
    assert_eq!(s.limits.max_depth, 8);
    assert_eq!(
        s.amqp.delivery_limit, 5,
        "keys the file leaves out keep their defaults"
    );

    let s = settings::load_from(Some(&path), env(&[("SAMVERKAN__AMQP__PREFETCH", "7")]))
        .expect("loads");
    assert_eq!(s.amqp.prefetch, 7, "environment wins over the file");
    assert_eq!(s.amqp.url, "amqp://file:filepw@file-host:5672/%2f");
    assert_eq!(s.limits.max_depth, 8);
}

fn load_sample() -> Settings {
    settings::load_from(Some(&repo_path("config/sample.toml")), HashMap::new())
        .expect("config/sample.toml loads")
}

fn read_json(relative: &str) -> Value {
    let text = std::fs::read_to_string(repo_path(relative)).expect("sample data readable");
    serde_json::from_str(&text).expect("sample data is JSON")
}

#[test]
fn sample_config_has_the_regions_and_universities_of_the_sample_data() {
    let s = load_sample();
    for (id, name, orgnr) in [
        ("VGR", "Västra Götalandsregionen", "232100-0131"),
        ("RV", "Region Västmanland", "232100-0172"),
    ] {
        let org = s
            .organisation(id)
            .unwrap_or_else(|| panic!("region {id} configured"));
        assert_eq!(org.kind, OrgKind::Region);
        assert_eq!(org.display_name, name);
        assert_eq!(org.organisationsnummer.as_deref(), Some(orgnr));
        assert_eq!(s.organisation_by_broker_user(&org.broker_user), Some(org));
    }
    for id in ["chalmers", "mdu"] {
        let org = s
            .organisation(id)
            .unwrap_or_else(|| panic!("university {id} configured"));
        assert_eq!(org.kind, OrgKind::University);
    }
    assert!(s.organisations.iter().any(|o| o.kind == OrgKind::Registry));

    // Every region and preferred university the needs refer to is configured, with its kind.
    let needs = read_json("sample-data/needs.json");
    let needs = needs["needs"].as_array().expect("needs array");
    for need in needs {
        let region = need["region"].as_str().expect("region").to_owned();
        assert_eq!(
            s.organisation(&region).map(|o| o.kind),
            Some(OrgKind::Region),
            "{region}"
        );
        for uni in need["routing"]["preferredUniversities"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let uni = uni.as_str().expect("university id");
            assert_eq!(
                s.organisation(uni).map(|o| o.kind),
                Some(OrgKind::University),
                "{uni}"
            );
        }
    }
}

#[test]
fn sample_config_has_every_registry_partner_with_its_organisationsnummer() {
    let s = load_sample();
    let registry = read_json("sample-data/partner-registry.json");
    let partners = registry["partners"].as_array().expect("partners array");
    assert!(!partners.is_empty());
    for partner in partners {
        let id = partner["id"].as_str().expect("partner id").to_lowercase();
        let org = s
            .organisation(&id)
            .unwrap_or_else(|| panic!("partner {id} configured"));
        assert_eq!(org.kind, OrgKind::Company, "{id}");
        assert_eq!(
            Some(org.display_name.as_str()),
            partner["name"].as_str(),
            "{id}"
        );
        assert_eq!(
            org.organisationsnummer.as_deref(),
            partner["organisationsnummer"].as_str(),
            "{id}"
        );
    }
    let companies = s
        .organisations
        .iter()
        .filter(|o| o.kind == OrgKind::Company)
        .count();
    assert_eq!(
        companies,
        partners.len(),
        "no companies beyond the registry's partners"
    );
    for org in &s.organisations {
        if let Some(n) = &org.organisationsnummer {
            assert!(is_organisationsnummer(n), "{}: {n}", org.id);
        }
    }
}

#[test]
fn a_bad_organisation_id_is_named() {
    let (err, message) = file_error(&org_table("partner.001", "company", "p1", None));
    assert!(matches!(err, SettingsError::Invalid { .. }), "{err:?}");
    assert!(message.contains("\"partner.001\""), "{message}");
    assert!(message.contains("organisations[0].id"), "{message}");
    assert!(message.contains("ASCII letters"), "{message}");
}

#[test]
fn a_duplicate_organisation_id_is_named() {
    let toml = org_table("vgr", "region", "vgr", None) + &org_table("vgr", "region", "vgr-2", None);
    let (err, message) = file_error(&toml);
    assert!(
        matches!(
            err,
            SettingsError::DuplicateOrgId {
                first: 0,
                second: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        message.contains("`vgr`") && message.contains("unique"),
        "{message}"
    );
}

#[test]
fn ids_differing_only_by_case_are_duplicates() {
    let toml = org_table("VGR", "region", "vgr", None) + &org_table("vgr", "region", "vgr-2", None);
    let (err, _) = file_error(&toml);
    assert!(
        matches!(err, SettingsError::DuplicateOrgId { .. }),
        "{err:?}"
    );
}

#[test]
fn a_duplicate_broker_user_is_named() {
    let toml =
        org_table("vgr", "region", "shared", None) + &org_table("rv", "region", "shared", None);
    let (err, message) = file_error(&toml);
    assert!(
        matches!(err, SettingsError::DuplicateBrokerUser { .. }),
        "{err:?}"
    );
    assert!(
        message.contains("`shared`") && message.contains("`vgr`"),
        "{message}"
    );
    assert!(message.contains("`rv`"), "{message}");
}

#[test]
fn a_bad_organisationsnummer_is_named() {
    let (err, message) = file_error(&org_table("vgr", "region", "vgr", Some("232100-0132"))); // wrong check digit
    assert!(
        matches!(
            err,
            SettingsError::InvalidOrganisationsnummer { index: 0, .. }
        ),
        "{err:?}"
    );
    assert!(
        message.contains("\"232100-0132\"") && message.contains("`vgr`"),
        "{message}"
    );
    assert!(message.contains("Luhn"), "{message}");
}

#[test]
fn an_unknown_kind_is_named() {
    let (_, message) = file_error(&org_table("vgr", "hospital", "vgr", None));
    assert!(
        message.contains("hospital") && message.contains("organisations[0]"),
        "{message}"
    );
}

#[test]
fn an_unknown_key_is_named_in_file_and_environment() {
    let (err, message) = file_error("[amqp]\nprefetsh = 10\n");
    assert!(matches!(err, SettingsError::Invalid { .. }), "{err:?}");
    assert!(
        message.contains("prefetsh") && message.contains("amqp"),
        "{message}"
    );
    assert!(
        message.contains("settings.toml"),
        "the message names the file: {message}"
    );

    let (_, message) = file_error("[amqps]\nurl = \"amqp://x\"\n");
    assert!(message.contains("amqps"), "{message}");

    let err = settings::load_from(None, env(&[("SAMVERKAN__AMQP__PREFETSH", "10")]))
        .expect_err("unknown env key refused");
    let message = err.to_string();
    assert!(
        message.contains("prefetsh") && message.contains("SAMVERKAN__"),
        "{message}"
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let err = settings::load_from(None, env(&[("SAMVERKAN__AMQP__PREFETCH", "lots")]))
        .expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("amqp.prefetch"), "{message}");

    let err =
        settings::load_from(None, env(&[("SAMVERKAN__AMQP__PREFETCH", "0")])).expect_err("refused");
    assert!(matches!(&err, SettingsError::InvalidValue { key, .. } if key == "amqp.prefetch"));
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("does-not-exist.toml");
    let err = settings::load_from(Some(&path), HashMap::new()).expect_err("refused");
    assert!(matches!(err, SettingsError::FileNotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("does-not-exist.toml") && message.contains("not found"),
        "{message}"
    );
}

#[test]
fn a_malformed_config_file_is_named() {
    let (err, message) = file_error("[amqp\nurl = ");
    assert!(
        matches!(err, SettingsError::FileMalformed { .. }),
        "{err:?}"
    );
    assert!(
        message.contains("settings.toml") && message.contains("TOML"),
        "{message}"
    );
}

#[test]
fn debug_output_hides_the_broker_password() {
    let secret = "Hemligt-Lösen-4711";
    let url = format!("amqp://hub:{secret}@mq.example:5672/%2f");
    let s = settings::load_from(None, env(&[("SAMVERKAN__AMQP__URL", &url)])).expect("loads");
    assert_eq!(s.amqp.url, url);
    assert_eq!(s.amqp.redacted_url(), "amqp://hub:***@mq.example:5672/%2f");
    for shown in [
        format!("{:?}", s.amqp),
        format!("{:#?}", s),
        format!("{s:?}"),
    ] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(
            shown.contains("amqp://hub:***@mq.example:5672/%2f"),
            "{shown}"
        );
    }
}

#[test]
fn the_http_listener_is_off_by_default_and_a_bad_address_is_named() {
    let defaults = settings::load_str("", HashMap::new()).expect("defaults");
    assert_eq!(defaults.http.address(), None);
    let on = HashMap::from([(
        "SAMVERKAN__HTTP__LISTEN".to_owned(),
        "0.0.0.0:9464".to_owned(),
    )]);
    let on = settings::load_str("", on).expect("an address");
    assert_eq!(on.http.address().map(|a| a.port()), Some(9464));
    let (err, message) = file_error("[http]\nlisten = \"localhost\"\n");
    assert!(matches!(err, SettingsError::InvalidValue { .. }), "{err:?}");
    assert!(message.contains("http.listen"), "{message}");
}

#[test]
fn a_relay_lease_must_outlast_the_confirm_timeout() {
    let short = env(&[
        ("SAMVERKAN__HUB__RELAY_LEASE_SECS", "6"),
        ("SAMVERKAN__AMQP__CONFIRM_TIMEOUT_MS", "5000"),
    ]);
    let err = settings::load_from(None, short).expect_err("a lease shorter than confirm + 2 s");
    assert!(err.to_string().contains("hub.relay_lease_secs"), "{err}");
    let enough = env(&[
        ("SAMVERKAN__HUB__RELAY_LEASE_SECS", "7"),
        ("SAMVERKAN__AMQP__CONFIRM_TIMEOUT_MS", "5000"),
    ]);
    let ok = settings::load_from(None, enough).expect("7 s covers 5 s plus the margin");
    assert_eq!(ok.amqp.confirm_timeout_ms, 5000);
}
