//! Two throwaway virtual hosts on the operator's broker, one per run, and the run's bench user.
//!
//! The bench declares the full topology and fills queues with thousands of messages; doing that
//! in the operator's vhost would mix bench traffic into real organisations' queues. So each
//! bench creates `samverkan-bench-<run>-hub` and `…-pass` through the management API, gives
//! the hub's own user (the one in `amqp.url`) full rights there and the bench user exactly what
//! onboarding grants a region (publish to ingress, read its own queue), and deletes both vhosts
//! at the end — on success, on error, and (through `Drop`) when the bench is interrupted or
//! panics. Deleting a vhost removes its queues, exchanges and permissions; the bench user,
//! created for this bench alone (a concurrent bench has its own), is deleted with them.

use lapin::uri::AMQPUri;

use super::LoadgenError;
use super::world::World;
use crate::onboard::{self, Existing, Management, ManagementError, Password, Permissions};
use crate::urls::{with_credentials, with_vhost};

/// The bench's vhosts, its user and the user's password.
pub(crate) struct Sandbox {
    management: Management,
    /// Vhost of the hub run, then of the pass-through run.
    pub vhosts: [String; 2],
    /// The bench user (the region's broker user in the bench's world).
    user: String,
    /// The bench user's password, generated for this run.
    pub password: String,
    removed: bool,
}

impl Sandbox {
    /// Create both vhosts, permit the hub's user and onboard the bench user (the world's
    /// region user) on them. On failure whatever was created is deleted again.
    pub(super) async fn create(
        management: Management,
        world: &World,
        run_id: &str,
    ) -> Result<Self, LoadgenError> {
        let mut sandbox = Self {
            management,
            vhosts: [
                format!("samverkan-bench-{run_id}-hub"),
                format!("samverkan-bench-{run_id}-pass"),
            ],
            user: world.region.broker_user.clone(),
            password: format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
            removed: true,
        };
        let admin = admin_user(&world.settings.amqp.url)?;
        for vhost in sandbox.vhosts.clone() {
            let description = "samverkan bench (deleted when the bench ends)";
            sandbox.management.put_vhost(&vhost, description).await?;
            sandbox.removed = false;
            sandbox.permit(&vhost, &admin).await?;
        }
        let grants = sandbox
            .vhosts
            .iter()
            .map(|vhost| onboard::grant(&world.region, vhost))
            .collect();
        let password = Password::Given(sandbox.password.clone());
        onboard::apply(
            &sandbox.management,
            grants,
            &password,
            Existing::reset_all(),
        )
        .await?;
        Ok(sandbox)
    }

    async fn permit(&self, vhost: &str, user: &str) -> Result<(), LoadgenError> {
        let all = Permissions {
            configure: ".*".into(),
            write: ".*".into(),
            read: ".*".into(),
        };
        Ok(self.management.put_permissions(vhost, user, &all).await?)
    }

    /// Delete both vhosts and the bench user.
    pub(super) async fn remove(mut self) -> Result<(), LoadgenError> {
        self.removed = true;
        Ok(delete_all(&self.management, &self.vhosts, &self.user).await?)
    }
}

/// Delete `vhosts` and `user`, trying each; the first failure.
async fn delete_all(
    management: &Management,
    vhosts: &[String],
    user: &str,
) -> Result<(), ManagementError> {
    let mut failure = None;
    for vhost in vhosts {
        if let Err(e) = management.delete_vhost(vhost).await {
            failure.get_or_insert(e);
        }
    }
    if let Err(e) = management.delete_user(user).await {
        failure.get_or_insert(e);
    }
    failure.map_or(Ok(()), Err)
}

impl Drop for Sandbox {
    /// The bench ended without [`Sandbox::remove`] (an error path that returned early, a panic,
    /// Ctrl-C): delete the vhosts on a thread of its own, since this may run inside a runtime.
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let management = self.management.clone();
        let (vhosts, user) = (self.vhosts.clone(), self.user.clone());
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime
                .block_on(delete_all(&management, &vhosts, &user))
                .ok()
        })
        .join();
        if !matches!(deleted, Ok(Some(()))) {
            tracing::error!(vhosts = ?self.vhosts, user = %self.user, "could not delete the bench's vhosts and user; delete them with `rabbitmqctl delete_vhost` and `rabbitmqctl delete_user`");
        }
    }
}

/// The user of `amqp_url` (the hub's own, administrative user).
fn admin_user(amqp_url: &str) -> Result<String, LoadgenError> {
    let uri: AMQPUri = amqp_url
        .parse()
        .map_err(|_| LoadgenError::Sample("amqp.url does not parse".to_owned()))?;
    Ok(uri.authority.userinfo.username)
}

/// `url` (an AMQP URL) pointing at `vhost`, with `user` and `password` when given.
pub(crate) fn run_url(
    url: &str,
    vhost: &str,
    credentials: Option<(&str, &str)>,
) -> Result<String, LoadgenError> {
    let url = match credentials {
        Some((user, password)) => with_credentials(url, user, password)?,
        None => url.to_owned(),
    };
    Ok(with_vhost(&url, vhost)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_urls_keep_the_host_and_query_and_swap_vhost_and_user() {
        let base = "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=30";
        let run = |vhost, credentials| run_url(base, vhost, credentials).expect("has a host");
        assert_eq!(
            run("bench-a", None),
            "amqp://guest:guest@127.0.0.1:5672/bench-a?heartbeat=30"
        );
        assert_eq!(
            run("b", Some(("samverkan-bench", "p@ss"))),
            "amqp://samverkan-bench:p%40ss@127.0.0.1:5672/b?heartbeat=30"
        );
        assert_eq!(
            run_url("amqp://host", "v", None).expect("host"),
            "amqp://host/v"
        );
        let uri: AMQPUri = run("samverkan-bench-x", Some(("u", "a/b")))
            .parse()
            .unwrap();
        assert_eq!(uri.vhost, "samverkan-bench-x");
        assert_eq!(uri.authority.userinfo.password, "a/b");
    }
}
