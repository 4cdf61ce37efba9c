//! Applying grants through the management API: users looked up first, tagged users refused
//! before anything changes, new users created without tags, permissions set.

use std::collections::{HashMap, HashSet};

use super::{BrokerUser, Existing, Grant, Management, OnboardError, Onboarded, Password};

/// Refuse one given password for several organisations: `ids` must name exactly one (an empty
/// list means every configured organisation) and the grants must be of one broker user.
pub fn check_given_password(ids: &[String], grants: &[Grant]) -> Result<(), OnboardError> {
    let mut users: Vec<&str> = grants.iter().map(|g| g.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    match (ids.len(), users.len()) {
        (0, _) => Err(OnboardError::SharedPassword(
            "none named: all would share it".into(),
        )),
        (_, 1) => Ok(()),
        (_, n) => Err(OnboardError::SharedPassword(format!("{n} named"))),
    }
}

/// Create or update each grant's user and permissions through the management API.
///
/// Every user is looked up first: if one carries tags and `existing.reset_tags` is not set,
/// nothing is changed ([`OnboardError::TaggedUsers`]). New users get `password` and no tags;
/// existing ones keep their password unless `existing.reset_password`, and lose their tags
/// when `existing.reset_tags`.
pub async fn apply(
    management: &Management,
    grants: Vec<Grant>,
    password: &Password,
    existing: Existing,
) -> Result<Vec<Onboarded>, OnboardError> {
    if let Some(grant) = grants.iter().find(|g| g.user == management.admin_user()) {
        return Err(OnboardError::ManagementUser(grant.user.clone()));
    }
    let mut found = HashMap::new();
    for grant in &grants {
        if !found.contains_key(&grant.user) {
            found.insert(grant.user.clone(), management.user(&grant.user).await?);
        }
    }
    let tagged: Vec<String> = found
        .values()
        .flatten()
        .filter(|u| !u.tags.is_empty())
        .map(|u| format!("{} ({})", u.name, u.tags.join(", ")))
        .collect();
    if !tagged.is_empty() && !existing.reset_tags {
        return Err(OnboardError::TaggedUsers(tagged));
    }
    let mut done = Vec::with_capacity(grants.len());
    let mut set_up = HashSet::new();
    for grant in grants {
        let onboarded = if set_up.insert(grant.user.clone()) {
            let user = found.remove(&grant.user).flatten();
            set_up_user(management, grant, user, password, existing).await?
        } else {
            // The same user on another vhost: set up above.
            Onboarded::unchanged(grant)
        };
        let grant = &onboarded.grant;
        management
            .put_permissions(&grant.vhost, &grant.user, &grant.permissions)
            .await?;
        tracing::info!(org = %grant.org, user = %grant.user, created = onboarded.created, "organisation onboarded on the broker");
        done.push(onboarded);
    }
    Ok(done)
}

/// Create the user with no tags, or bring an existing one in line with `existing`.
async fn set_up_user(
    management: &Management,
    grant: Grant,
    found: Option<BrokerUser>,
    password: &Password,
    existing: Existing,
) -> Result<Onboarded, OnboardError> {
    let mut generated = None;
    if found.is_none() || existing.reset_password {
        let secret = match password {
            Password::Given(secret) => secret.clone(),
            Password::Generate => generated.insert(random_password()).clone(),
        };
        // Creates the user without tags, or replaces its password and tags.
        management.put_user(&grant.user, &secret).await?;
    } else if let Some(user) = found.as_ref().filter(|u| !u.tags.is_empty()) {
        management.clear_tags(user).await?;
    }
    Ok(Onboarded {
        created: found.is_none(),
        password_reset: found.is_some() && existing.reset_password,
        tags_removed: found.map(|u| u.tags).unwrap_or_default(),
        password: generated,
        grant,
    })
}

/// 244 random bits, hex: two v4 UUIDs from the operating system's generator.
fn random_password() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onboard::Permissions;

    #[test]
    fn a_given_password_is_for_one_named_user_only() {
        let g = |user: &str, vhost: &str| Grant {
            org: user.to_uppercase(),
            user: user.into(),
            vhost: vhost.into(),
            permissions: Permissions {
                configure: "^$".into(),
                write: "^$".into(),
                read: "^$".into(),
            },
        };
        assert!(check_given_password(&["VGR".into()], &[g("vgr", "/")]).is_ok());
        let bench = [g("bench", "a"), g("bench", "b")];
        assert!(check_given_password(&["bench".into()], &bench).is_ok());
        let all = [g("vgr", "/")];
        let two = ["VGR".into(), "RV".into()];
        for (ids, grants) in [
            (&[][..], &all[..]),
            (&two[..], &[g("vgr", "/"), g("rv", "/")][..]),
        ] {
            let error = check_given_password(ids, grants).expect_err("shared");
            assert!(matches!(error, OnboardError::SharedPassword(_)), "{error}");
            assert!(error.to_string().contains("exactly one ORG"), "{error}");
        }
    }

    #[tokio::test]
    async fn the_management_user_is_never_onboarded_as_an_organisation() {
        // Nothing listens on port 1: the refusal comes before any request.
        let management =
            Management::new("http://127.0.0.1:1", "amqp://admin:pw@x/%2f").expect("management URL");
        let grants = vec![Grant {
            org: "VGR".into(),
            user: "admin".into(),
            vhost: "/".into(),
            permissions: Permissions {
                configure: "^$".into(),
                write: "^$".into(),
                read: "^$".into(),
            },
        }];
        let error = apply(
            &management,
            grants,
            &Password::Generate,
            Existing::reset_all(),
        )
        .await
        .expect_err("the management user");
        assert!(
            matches!(error, OnboardError::ManagementUser(ref u) if u == "admin"),
            "{error}"
        );
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (random_password(), random_password());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
