//! The organisations the hub knows: who they are and which broker user they connect as.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::SettingsError;
use super::webhooks::{WebhookSecret, validate_org_webhook};
use crate::redact::redact_url;
use crate::schema::is_organisationsnummer;

/// An organisation id such as `VGR`, `chalmers` or `partner-001`, as in the wire contract
/// (`common.v1.json#/$defs/orgId`: event sources are `urn:samverkan:org:<id>`).
///
/// It becomes part of the organisation's AMQP queue (`samverkan.org.<id>`) and of routing keys
/// (`<id>.<event type>`), where `.` separates words and `*`/`#` are wildcards. So only ASCII
/// letters, digits, `_` and `-` are allowed, starting with a letter or digit, at most
/// `OrgId::MAX_LEN` characters: an id can never widen a binding. Ids that differ only by case
/// are refused as duplicates when the configuration is loaded.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

/// Why a string is not an [`OrgId`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrgIdError {
    /// The empty string.
    #[error("organisation id is empty: use 1 to 63 ASCII letters, digits, '_' and '-'")]
    Empty,
    /// More than `OrgId::MAX_LEN` characters.
    #[error("organisation id {id:?} is {len} characters long: at most 63 are allowed")]
    TooLong {
        /// The id as given.
        id: String,
        /// Its length in characters.
        len: usize,
    },
    /// The first character is not an ASCII letter or digit.
    #[error("organisation id {id:?} must start with an ASCII letter or digit, not {first:?}")]
    BadStart {
        /// The id as given.
        id: String,
        /// Its first character.
        first: char,
    },
    /// A character other than `A-Z`, `a-z`, `0-9`, `_` or `-`.
    #[error(
        "organisation id {id:?} contains {found:?} at position {position}: only ASCII \
         letters, digits, '_' and '-' are allowed"
    )]
    BadChar {
        /// The id as given.
        id: String,
        /// The offending character.
        found: char,
        /// Its position (in characters, from 0).
        position: usize,
    },
}

impl OrgId {
    /// Longest accepted id, in characters.
    pub(crate) const MAX_LEN: usize = 63;

    /// Parses and checks an id.
    ///
    /// # Errors
    ///
    /// When `s` is empty, too long, does not start with `a-z` or contains anything other than
    /// `a-z`, `0-9` and `-`.
    pub fn parse(s: &str) -> Result<Self, OrgIdError> {
        let mut chars = s.chars();
        let first = chars.next().ok_or(OrgIdError::Empty)?;
        let len = s.chars().count();
        if len > Self::MAX_LEN {
            return Err(OrgIdError::TooLong {
                id: s.to_owned(),
                len,
            });
        }
        if !first.is_ascii_alphanumeric() {
            return Err(OrgIdError::BadStart {
                id: s.to_owned(),
                first,
            });
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if let Some((position, found)) = s.chars().enumerate().find(|&(_, c)| !allowed(c)) {
            return Err(OrgIdError::BadChar {
                id: s.to_owned(),
                found,
                position,
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for OrgId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrgId {
    type Err = OrgIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for OrgId {
    type Error = OrgIdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<OrgId> for String {
    fn from(id: OrgId) -> Self {
        id.0
    }
}

/// What an organisation is, which decides what it may send and receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum OrgKind {
    /// Submits and withdraws needs; receives need status.
    Region,
    /// Receives challenges, answers with offers, publishes its course catalogue.
    University,
    /// Receives innovation calls, answers with proposals.
    Company,
    /// Publishes partner registry entries.
    Registry,
}

impl OrgKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Region,
        Self::University,
        Self::Company,
        Self::Registry,
    ];

    /// The configuration spelling: `region`, `university`, `company` or `registry`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::University => "university",
            Self::Company => "company",
            Self::Registry => "registry",
        }
    }
}

/// A string that is not one of [`OrgKind::ALL`]'s names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown organisation kind {0:?}: expected region, university, company or registry")]
pub struct UnknownOrgKind(pub String);

impl FromStr for OrgKind {
    type Err = UnknownOrgKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownOrgKind(s.to_owned()))
    }
}

impl TryFrom<String> for OrgKind {
    type Error = UnknownOrgKind;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[organisations]]` table. Its `Debug` shows the webhook URL redacted and never the
/// secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Id used in queue names and routing keys.
    pub id: OrgId,
    /// What the organisation is.
    pub kind: OrgKind,
    /// The RabbitMQ user it connects as; the AMQP `user_id` of everything it sends.
    pub broker_user: String,
    /// Human-readable name.
    pub display_name: String,
    /// Swedish organisation number, `NNNNNN-NNNN`, Luhn-checked at load.
    #[serde(default)]
    pub organisationsnummer: Option<String>,
    /// Where the hub POSTs the organisation's events, set by the operator (any http(s) URL,
    /// loopback included); the organisation then cannot register another through the API.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The secret that signs them (`whsec_…` per Standard Webhooks, or any text of at least 16
    /// bytes). Never serialised, logged or printed.
    #[serde(default, skip_serializing)]
    pub webhook_secret: Option<WebhookSecret>,
    /// The name of an environment variable that holds the secret instead (read at load).
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
}

impl fmt::Debug for Organisation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Organisation")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("broker_user", &self.broker_user)
            .field("display_name", &self.display_name)
            .field("organisationsnummer", &self.organisationsnummer)
            .field("webhook_url", &self.webhook_url.as_deref().map(redact_url))
            .field("webhook_secret", &self.webhook_secret)
            .field("webhook_secret_env", &self.webhook_secret_env)
            .finish()
    }
}

/// Checks each organisation, then that ids and broker users are unique.
pub(super) fn validate_all(orgs: &[Organisation]) -> Result<(), SettingsError> {
    // Keyed by lowercase id: `VGR` and `vgr` would share queues on a case-folding client.
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut users: HashMap<&str, &str> = HashMap::new();
    for (index, org) in orgs.iter().enumerate() {
        let id = org.id.as_str();
        if org.broker_user.trim().is_empty() {
            return Err(SettingsError::value(
                &format!("organisations[{index}].broker_user"),
                format!("`{id}` has an empty broker user"),
            ));
        }
        if org.display_name.trim().is_empty() {
            return Err(SettingsError::value(
                &format!("organisations[{index}].display_name"),
                format!("`{id}` has an empty display name"),
            ));
        }
        if let Some(value) = &org.organisationsnummer
            && !is_organisationsnummer(value)
        {
            return Err(SettingsError::InvalidOrganisationsnummer {
                index,
                id: id.to_owned(),
                value: value.clone(),
            });
        }
        validate_org_webhook(index, org)?;
        if let Some(&first) = ids.get(&id.to_ascii_lowercase()) {
            return Err(SettingsError::DuplicateOrgId {
                id: id.to_owned(),
                first,
                second: index,
            });
        }
        ids.insert(id.to_ascii_lowercase(), index);
        if let Some(&first) = users.get(org.broker_user.as_str()) {
            return Err(SettingsError::DuplicateBrokerUser {
                user: org.broker_user.clone(),
                first: first.to_owned(),
                second: id.to_owned(),
            });
        }
        users.insert(&org.broker_user, id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contract_ids() {
        for ok in [
            "VGR",
            "RV",
            "1177",
            "partner_001",
            "vgr",
            "rv",
            "mdu",
            "partner-001",
            "a",
            "x9-",
            &"a".repeat(63),
        ] {
            let id = OrgId::parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), ok);
            assert_eq!(ok.parse::<OrgId>().ok(), Some(id));
        }
    }

    #[test]
    fn rejects_with_a_precise_reason() {
        assert_eq!(OrgId::parse(""), Err(OrgIdError::Empty));
        assert!(matches!(
            OrgId::parse(&"a".repeat(64)),
            Err(OrgIdError::TooLong { len: 64, .. })
        ));
        assert!(matches!(
            OrgId::parse("-vgr"),
            Err(OrgIdError::BadStart { first: '-', .. })
        ));
        for (bad, found, position) in [
            ("org.vgr", '.', 3),
            ("org*", '*', 3),
            ("org#", '#', 3),
            ("vg r", ' ', 2),
            ("välfärd", 'ä', 1),
        ] {
            assert_eq!(
                OrgId::parse(bad),
                Err(OrgIdError::BadChar {
                    id: bad.to_owned(),
                    found,
                    position
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_messages_say_what_is_allowed() {
        let e = OrgId::parse("org.vgr").unwrap_err().to_string();
        assert!(
            e.contains("\"org.vgr\"") && e.contains("'.'") && e.contains("ASCII letters"),
            "{e}"
        );
        let e = OrgId::parse("-vgr").unwrap_err().to_string();
        assert!(
            e.contains("must start with an ASCII letter or digit"),
            "{e}"
        );
    }

    #[test]
    fn serde_round_trip_checks_the_id() {
        let id: OrgId = serde_json::from_str("\"partner-001\"").expect("valid");
        assert_eq!(
            serde_json::to_string(&id).ok().as_deref(),
            Some("\"partner-001\"")
        );
        let err = serde_json::from_str::<OrgId>("\"partner.001\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("only ASCII letters"), "{err}");
    }

    #[test]
    fn kinds_use_lowercase_names() {
        let kinds: Vec<OrgKind> =
            serde_json::from_str(r#"["region","university","company","registry"]"#).expect("ok");
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["region", "university", "company", "registry"]);
        let err = serde_json::from_str::<OrgKind>("\"Region\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown organisation kind \"Region\""),
            "{err}"
        );
        assert_eq!(
            serde_json::to_string(&OrgKind::University).ok().as_deref(),
            Some("\"university\"")
        );
    }
}
