//! The schema registry: every event type's `data` schema, compiled once at start-up.
//!
//! Partners code against `schemas/`; the hub enforces the same files. They are embedded in the
//! binary (`embedded`) so validation works from any directory, and resolved only against each
//! other: `jsonschema` is built without its HTTP and file retrievers, so a `$ref` can never
//! trigger a network fetch. Validating an event checks, in order, that its `dataschema` is the
//! one registered for its `type`, that `data` satisfies that schema, and that a need-scoped
//! event's `subject` repeats the need id inside `data`.
//!
//! Error messages are produced with values masked: schema errors travel back to the sender and
//! into dead-letter headers, and a free-text field may hold personal data.

mod embedded;
mod formats;

use std::collections::BTreeMap;

use jsonschema::{Registry, Validator};
use serde_json::Value;
use thiserror::Error;

pub use embedded::{SCHEMA_FILES, schema_source};
pub use formats::{HSA_ID, ORGANISATIONSNUMMER, is_hsa_id, is_organisationsnummer};

use crate::event::{CloudEvent, EventError, EventType, Issue, Limits, SCHEMA_BASE};

/// At most this many schema issues are reported for one event, so a huge invalid array cannot
/// produce a huge rejection.
pub const MAX_ISSUES: usize = 50;

/// The embedded schemas could not be compiled: a bug in `schemas/`, caught by the test suite.
#[derive(Debug, Error)]
pub enum SchemaError {
    /// A schema file is not valid JSON.
    #[error("schema file {file} is not valid JSON: {source}")]
    Json {
        file: &'static str,
        source: serde_json::Error,
    },
    /// The schemas do not form a consistent registry (bad `$id`, unresolvable `$ref`).
    #[error("schema registry could not be built: {0}")]
    Registry(String),
    /// One schema does not compile.
    #[error("schema {file} does not compile: {detail}")]
    Compile { file: &'static str, detail: String },
}

/// An event whose envelope and data have both been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedEvent(CloudEvent);

impl ValidatedEvent {
    /// The checked event.
    pub fn event(&self) -> &CloudEvent {
        &self.0
    }

    /// Take the checked event.
    pub fn into_inner(self) -> CloudEvent {
        self.0
    }
}

/// Compiled validators, one per [`EventType`].
pub struct SchemaRegistry {
    validators: BTreeMap<EventType, Validator>,
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("types", &self.validators.len())
            .finish()
    }
}

impl SchemaRegistry {
    /// Parse and compile every embedded schema.
    pub fn new() -> Result<Self, SchemaError> {
        let sources = SCHEMA_FILES
            .iter()
            .map(|(file, text)| {
                let json = serde_json::from_str::<Value>(text)
                    .map_err(|source| SchemaError::Json { file, source })?;
                let json =
                    formats::with_custom_formats(file, json).map_err(SchemaError::Registry)?;
                Ok((*file, json))
            })
            .collect::<Result<Vec<_>, SchemaError>>()?;
        let registry = sources
            .iter()
            .try_fold(Registry::new(), |builder, (file, json)| {
                builder.add(format!("{SCHEMA_BASE}{file}"), json)
            })
            .and_then(|builder| builder.prepare())
            .map_err(|e| SchemaError::Registry(e.to_string()))?;
        let mut validators = BTreeMap::new();
        for event_type in EventType::ALL {
            let file = event_type.schema_file();
            let json = sources
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, json)| json)
                .ok_or_else(|| SchemaError::Registry(format!("no embedded schema {file}")))?;
            let validator = jsonschema::options()
                .with_registry(&registry)
                .should_validate_formats(true)
                .with_format(ORGANISATIONSNUMMER, is_organisationsnummer)
                .with_format(HSA_ID, is_hsa_id)
                .build(json)
                .map_err(|e| SchemaError::Compile {
                    file,
                    detail: e.to_string(),
                })?;
            validators.insert(event_type, validator);
        }
        Ok(Self { validators })
    }

    /// Check `data` (and the attributes that depend on it) of a parsed envelope.
    pub fn validate(&self, event: CloudEvent) -> Result<ValidatedEvent, EventError> {
        self.check(&event)?;
        Ok(ValidatedEvent(event))
    }

    /// [`validate`](Self::validate) without taking the event: dataschema, data, subject.
    pub fn check(&self, event: &CloudEvent) -> Result<(), EventError> {
        let expected = event.event_type.dataschema();
        if event.dataschema != expected {
            return Err(EventError::UnknownDataschema {
                event_type: event.event_type.as_str().to_owned(),
                got: event.dataschema.clone(),
                expected,
            });
        }
        let issues = self.data_issues(event.event_type, &event.data);
        if !issues.is_empty() {
            return Err(EventError::SchemaInvalid {
                schema: expected,
                issues,
            });
        }
        check_subject(event)
    }

    /// Parse a structured-mode body under `limits` and validate it: what `samverkan validate`
    /// and the hub's intake both do.
    pub fn validate_bytes(
        &self,
        body: &[u8],
        limits: Limits,
    ) -> Result<ValidatedEvent, EventError> {
        self.validate(CloudEvent::parse(body, limits)?)
    }

    /// Schema issues of `data` for `event_type`, pointers prefixed with `/data`.
    pub fn data_issues(&self, event_type: EventType, data: &Value) -> Vec<Issue> {
        let Some(validator) = self.validators.get(&event_type) else {
            return vec![Issue::new("/data", "no schema is registered for this type")];
        };
        validator
            .iter_errors(data)
            .take(MAX_ISSUES)
            .map(|e| {
                Issue::new(
                    format!("/data{}", e.instance_path()),
                    e.masked().to_string(),
                )
            })
            .collect()
    }
}

/// A need-scoped event's `subject` must be the need id its data carries.
fn check_subject(event: &CloudEvent) -> Result<(), EventError> {
    let Some(pointer) = event.event_type.need_id_pointer() else {
        return Ok(());
    };
    let in_data = event.data.pointer(pointer).and_then(Value::as_str);
    if in_data == event.subject.as_deref() {
        return Ok(());
    }
    Err(EventError::InvalidAttribute {
        attribute: "subject".to_owned(),
        detail: format!("must equal the need id at /data{pointer}"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::Source;

    fn registry() -> SchemaRegistry {
        SchemaRegistry::new().expect("embedded schemas compile")
    }

    #[test]
    fn every_type_has_a_compiled_validator() {
        assert_eq!(registry().validators.len(), EventType::ALL.len());
    }

    #[test]
    fn a_foreign_dataschema_is_refused() {
        let mut event = CloudEvent::new(
            EventType::CourseRemoved,
            Source::for_org("chalmers"),
            None,
            json!({}),
        );
        event.dataschema = "https://example.com/evil.json".into();
        let err = registry().validate(event).expect_err("refused");
        assert_eq!(err.reason().as_str(), "unknown_dataschema");
    }

    #[test]
    fn schema_errors_point_into_data_and_do_not_echo_values() {
        let event = CloudEvent::new(
            EventType::PartnerUpserted,
            Source::for_org("registry"),
            None,
            json!({"organisationsnummer": "SECRET-19121212"}),
        );
        let err = registry().validate(event).expect_err("invalid");
        assert_eq!(err.reason().as_str(), "schema_invalid");
        let issues = err.issues();
        assert!(issues.iter().all(|i| i.instance_path.starts_with("/data")));
        assert!(
            issues.iter().all(|i| !i.message.contains("SECRET")),
            "{issues:?}"
        );
    }
}
