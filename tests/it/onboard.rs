//! Onboarding on the real RabbitMQ: users and permissions through the management API, and
//! proof that they keep organisations apart (publish to ingress, read own queue, nothing else).

use std::collections::HashMap;

use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::{BasicProperties, Connection};
use samverkan::onboard::{
    self, Existing, Management, ManagementError, OnboardError, Onboarded, Password,
};
use samverkan::settings::{self, Settings};
use samverkan::transport::amqp::{connect, declare};
use samverkan::transport::{EGRESS_EXCHANGE, INGRESS_EXCHANGE, Topology};

use crate::{START_BROKER as START, management_url, samverkan_with, vhost_url};

/// `rabbitmqctl args` on the broker under test; fails the test when it fails.
fn rabbitmqctl(args: &[&str]) -> String {
    crate::rabbitmqctl(args).unwrap_or_else(|out| panic!("rabbitmqctl {args:?}: {out}"))
}

/// A fresh vhost with the topology for two organisations whose broker users are unique to
/// this test (so tests running at once never share a user); deleted when dropped.
struct Site {
    vhost: String,
    settings: Settings,
    users: Vec<String>,
}

impl Site {
    async fn new() -> Self {
        let id = &uuid::Uuid::now_v7().simple().to_string()[20..];
        let vhost = format!("it-onboard-{id}");
        rabbitmqctl(&["add_vhost", &vhost]);
        rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]);
        let users = vec![format!("ob-{id}-vgr"), format!("ob-{id}-chalmers")];
        let toml = format!(
            "[[organisations]]\nid = \"VGR\"\nkind = \"region\"\nbroker_user = \"{}\"\n\
             display_name = \"Västra Götalandsregionen\"\n\n\
             [[organisations]]\nid = \"chalmers\"\nkind = \"university\"\n\
             broker_user = \"{}\"\ndisplay_name = \"Chalmers\"\n",
            users[0], users[1]
        );
        let env = HashMap::from([
            (
                "SAMVERKAN__AMQP__URL".to_owned(),
                vhost_url("guest", "guest", &vhost),
            ),
            (
                "SAMVERKAN__AMQP__MANAGEMENT_URL".to_owned(),
                management_url(),
            ),
        ]);
        let settings = settings::load_str(&toml, env).expect("settings");
        let topology = Topology::new(["VGR", "chalmers"], 5).expect("topology");
        let connection = connect(&settings.amqp.url, "it-onboard")
            .await
            .unwrap_or_else(|e| panic!("cannot reach RabbitMQ ({e}); {START}"));
        let channel = connection.create_channel().await.expect("channel");
        declare(&channel, &topology).await.expect("declare");
        connection.close(200, "done".into()).await.ok();
        Self {
            vhost,
            settings,
            users,
        }
    }

    fn management(&self) -> Management {
        let amqp = &self.settings.amqp;
        Management::new(&amqp.management_url, &amqp.url).expect("management URL")
    }

    async fn onboard(&self, password: &str, reset: bool) -> Vec<Onboarded> {
        let existing = Existing {
            reset_password: reset,
            reset_tags: false,
        };
        self.try_onboard(password, existing)
            .await
            .unwrap_or_else(|e| panic!("onboarding failed ({e}); {START}"))
    }

    async fn try_onboard(
        &self,
        password: &str,
        existing: Existing,
    ) -> Result<Vec<Onboarded>, OnboardError> {
        let grants = onboard::plan(&self.settings, &[]).expect("plan");
        let given = Password::Given(password.into());
        onboard::apply(&self.management(), grants, &given, existing).await
    }

    /// `user`'s tags, sorted; `None` when there is no such user.
    async fn tags(&self, user: &str) -> Option<Vec<String>> {
        let found = self.management().user(user).await.expect("look up user");
        found.map(|u| {
            let mut tags = u.tags;
            tags.sort();
            tags
        })
    }

    /// A config file with this site's VGR and Chalmers users, for the CLI.
    fn config_file(&self, dir: &tempfile::TempDir) -> String {
        let path = dir.path().join("orgs.toml");
        let toml = format!(
            "[[organisations]]\nid = \"VGR\"\nkind = \"region\"\nbroker_user = \"{}\"\n\
             display_name = \"VGR\"\n\n[[organisations]]\nid = \"chalmers\"\n\
             kind = \"university\"\nbroker_user = \"{}\"\ndisplay_name = \"Chalmers\"\n",
            self.users[0], self.users[1]
        );
        std::fs::write(&path, toml).expect("config");
        path.display().to_string()
    }

    async fn connect_as(&self, user: &str, password: &str) -> Result<Connection, String> {
        let url = vhost_url(user, password, &self.vhost);
        connect(&url, "it-onboard-org")
            .await
            .map_err(|e| e.to_string())
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = crate::rabbitmqctl(&["delete_vhost", &self.vhost]);
        for user in &self.users {
            let _ = crate::rabbitmqctl(&["delete_user", user]);
        }
    }
}

/// Publish one persistent, mandatory message as `user` and wait for the broker's verdict.
async fn publish_as(connection: &Connection, user: &str, exchange: &str) -> Result<(), String> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_user_id(user.into());
    let options = BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    let publish = async {
        channel
            .basic_publish(
                exchange.into(),
                "se.samverkan.need.submitted.v1".into(),
                options,
                b"{}",
                properties,
            )
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
    };
    let confirm = crate::refused_publish(&channel, publish).await?;
    let acked = confirm.is_ack();
    match confirm.take_message() {
        None if acked => Ok(()),
        returned => Err(format!(
            "not confirmed (ack {acked}, returned {returned:?})"
        )),
    }
}

async fn consume(connection: &Connection, queue: &str) -> Result<(), String> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    channel
        .basic_consume(
            queue.into(),
            "it-onboard".into(),
            BasicConsumeOptions::default(),
            Default::default(),
        )
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn onboarded_organisations_write_to_ingress_and_read_only_their_own_queue() {
    let site = Site::new().await;
    let done = site.onboard("pw-onboard-1", false).await;
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|o| o.created && o.password.is_none()));
    let vgr = &site.users[0];
    let as_vgr = site
        .connect_as(vgr, "pw-onboard-1")
        .await
        .expect("vgr connects");

    publish_as(&as_vgr, vgr, INGRESS_EXCHANGE)
        .await
        .expect("an organisation may publish to ingress");
    consume(&as_vgr, &Topology::org_queue_name("VGR"))
        .await
        .expect("an organisation may read its own queue");

    let refused = |result: Result<(), String>, what: &str| {
        let error = result.expect_err(what);
        assert!(
            error.contains("ACCESS_REFUSED")
                || error.contains("403")
                || error == crate::CLOSED_BY_BROKER,
            "{what}: {error}"
        );
    };
    refused(
        consume(&as_vgr, &Topology::org_queue_name("chalmers")).await,
        "reading another organisation's queue",
    );
    refused(
        publish_as(&as_vgr, vgr, EGRESS_EXCHANGE).await,
        "publishing as the hub",
    );
    let channel = as_vgr.create_channel().await.expect("channel");
    // Durable: a transient non-exclusive queue is a deprecated feature of its own, denied on
    // the RabbitMQ 4 the tests run on, so only the permission may refuse this one.
    let durable = QueueDeclareOptions::durable();
    let declared = channel
        .queue_declare("vgr-own-queue".into(), durable, Default::default())
        .await
        .map(drop)
        .map_err(|e| e.to_string());
    refused(declared, "declaring a queue");
    as_vgr.close(200, "done".into()).await.ok();

    let listed = rabbitmqctl(&["list_user_permissions", vgr]);
    assert!(
        listed.contains(&site.vhost) && listed.contains(r"^samverkan\.org\.VGR$"),
        "{listed}"
    );
}

#[tokio::test]
async fn onboarding_again_keeps_the_password_unless_asked_to_reset_it() {
    let site = Site::new().await;
    site.onboard("first-password", false).await;
    let again = site.onboard("second-password", false).await;
    assert!(again.iter().all(|o| !o.created && !o.password_reset));
    let chalmers = &site.users[1];
    let first = site.connect_as(chalmers, "first-password").await;
    assert!(first.is_ok(), "{first:?}");
    assert!(site.connect_as(chalmers, "second-password").await.is_err());

    let reset = site.onboard("second-password", true).await;
    assert!(reset.iter().all(|o| !o.created && o.password_reset));
    assert!(site.connect_as(chalmers, "second-password").await.is_ok());
    assert!(site.connect_as(chalmers, "first-password").await.is_err());
}

#[tokio::test]
async fn onboarding_errors_say_what_to_fix_without_secrets() {
    let site = Site::new().await;
    let unknown = onboard::plan(&site.settings, &["nope".into()]).expect_err("unknown org");
    assert!(matches!(unknown, OnboardError::UnknownOrganisation(ref id) if id == "nope"));

    let grants = onboard::plan(&site.settings, &[]).expect("plan");
    let mut wrong_url = url::Url::parse(&management_url()).expect("management URL");
    wrong_url.set_username("guest").expect("username");
    wrong_url
        .set_password(Some("not-the-password"))
        .expect("password");
    let wrong = Management::new(wrong_url.as_str(), "amqp://x").expect("url");
    let none = Existing::default();
    let error = onboard::apply(&wrong, grants.clone(), &Password::Generate, none)
        .await
        .expect_err("wrong credentials");
    let shown = error.to_string();
    assert!(
        shown.contains("401") && !shown.contains("not-the-password"),
        "{shown}"
    );

    let closed = Management::new("http://127.0.0.1:1", &site.settings.amqp.url).expect("url");
    let error = onboard::apply(&closed, grants.clone(), &Password::Generate, none)
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(
            error,
            OnboardError::Management(ManagementError::Unreachable { .. })
        ),
        "{error}"
    );
    assert!(error.to_string().contains("rabbitmq_management"), "{error}");

    let mut elsewhere = grants;
    elsewhere[0].vhost = format!("{}-missing", site.vhost);
    let error = onboard::apply(&site.management(), elsewhere, &Password::Generate, none)
        .await
        .expect_err("no such vhost");
    assert!(error.to_string().contains("add_vhost"), "{error}");
}

#[tokio::test]
async fn the_onboard_command_generates_passwords_that_work() {
    let site = Site::new().await;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let config = dir.path().join("orgs.toml");
    let toml = format!(
        "[[organisations]]\nid = \"VGR\"\nkind = \"region\"\nbroker_user = \"{}\"\n\
         display_name = \"VGR\"\n",
        site.users[0]
    );
    std::fs::write(&config, toml).expect("config");
    let config = config.display().to_string();
    let output = samverkan_with(
        &["--config", &config, "onboard", "--format", "json"],
        b"",
        &[
            ("SAMVERKAN__AMQP__URL", &site.settings.amqp.url),
            (
                "SAMVERKAN__AMQP__MANAGEMENT_URL",
                &site.settings.amqp.management_url,
            ),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report[0]["org"], "VGR");
    assert_eq!(report[0]["created"], true);
    assert_eq!(report[0]["read"], r"^samverkan\.org\.VGR$");
    let password = report[0]["password"]
        .as_str()
        .expect("a generated password");
    assert!(password.len() >= 32);
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains(password),
        "the password reached the log"
    );
    let connection = site.connect_as(&site.users[0], password).await;
    assert!(connection.is_ok(), "{connection:?}");
}

#[tokio::test]
async fn an_existing_user_with_tags_is_refused_unless_its_tags_are_reset() {
    let site = Site::new().await;
    let (vgr, chalmers) = (&site.users[0], &site.users[1]);
    rabbitmqctl(&["add_user", vgr, "kept-password"]);
    rabbitmqctl(&["set_user_tags", vgr, "impersonator", "administrator"]);

    for reset_password in [false, true] {
        let existing = Existing {
            reset_password,
            reset_tags: false,
        };
        let error = site
            .try_onboard("new-password", existing)
            .await
            .expect_err("a tagged user");
        let shown = error.to_string();
        assert!(matches!(error, OnboardError::TaggedUsers(_)), "{shown}");
        for part in [
            vgr.as_str(),
            "impersonator",
            "administrator",
            "--reset-tags",
        ] {
            assert!(shown.contains(part), "{part}: {shown}");
        }
        assert!(!shown.contains(chalmers), "{shown}");
        // Refused before anything changed.
        let tags = ["administrator", "impersonator"].map(String::from).to_vec();
        assert_eq!(site.tags(vgr).await, Some(tags));
        assert_eq!(
            site.tags(chalmers).await,
            None,
            "chalmers was created anyway"
        );
    }

    let reset_tags = Existing {
        reset_password: false,
        reset_tags: true,
    };
    let done = site
        .try_onboard("new-password", reset_tags)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut removed = done[0].tags_removed.clone();
    removed.sort();
    assert_eq!(removed, ["administrator", "impersonator"]);
    assert!(!done[0].created && !done[0].password_reset);
    assert!(done[1].created && done[1].tags_removed.is_empty());
    assert_eq!(site.tags(vgr).await, Some(vec![]));
    assert_eq!(
        site.tags(chalmers).await,
        Some(vec![]),
        "new users get no tags"
    );
    let kept = site.connect_as(vgr, "kept-password").await;
    assert!(
        kept.is_ok(),
        "the password survives removing the tags: {kept:?}"
    );
    assert!(site.connect_as(vgr, "new-password").await.is_err());
}

#[tokio::test]
async fn the_onboard_command_refuses_a_shared_stdin_password_and_tagged_users() {
    let site = Site::new().await;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let config = site.config_file(&dir);
    let url = site.settings.amqp.url.clone();
    let management = site.settings.amqp.management_url.clone();
    let onboard = |extra: &[&str]| {
        let mut args = vec!["--config", config.as_str(), "onboard"];
        args.extend_from_slice(extra);
        let env = [
            ("SAMVERKAN__AMQP__URL", url.as_str()),
            ("SAMVERKAN__AMQP__MANAGEMENT_URL", management.as_str()),
        ];
        samverkan_with(&args, b"one-for-all\n", &env)
    };
    for extra in [
        &["--password-stdin"][..],
        &["--password-stdin", "VGR", "chalmers"][..],
        &["--password-stdin", "--dry-run"][..],
    ] {
        let output = onboard(extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{extra:?} was accepted");
        assert!(stderr.contains("exactly one ORG"), "{extra:?}: {stderr}");
    }
    assert_eq!(site.tags(&site.users[0]).await, None, "nothing was created");

    rabbitmqctl(&["add_user", &site.users[0], "kept-password"]);
    rabbitmqctl(&["set_user_tags", &site.users[0], "management"]);
    let refused = onboard(&["VGR", "--password-stdin"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a tagged user was onboarded");
    assert!(stderr.contains("--reset-tags"), "{stderr}");

    let fixed = onboard(&["VGR", "--password-stdin", "--reset-tags"]);
    let stdout = String::from_utf8_lossy(&fixed.stdout);
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    assert!(stdout.contains("tags removed: management"), "{stdout}");
    assert_eq!(site.tags(&site.users[0]).await, Some(vec![]));

    let single = onboard(&["chalmers", "--password-stdin"]);
    assert!(
        single.status.success(),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
    let connection = site.connect_as(&site.users[1], "one-for-all").await;
    assert!(connection.is_ok(), "{connection:?}");
}
