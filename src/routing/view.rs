//! The PII-free need view (`common.v1.json#/$defs/needView`) and the need's call terms.
//!
//! The view is built field by field from an allow-list, never by copying the need and deleting
//! what must not leave: a field added to the need schema later stays inside the region until
//! someone decides it may go out. Submitter, roles, HSA-id, consent, routing and attachments
//! are never read here.

use serde::Deserialize;
use serde_json::{Value, json};

use super::RoutingError;
use super::build::object;
use crate::catalogue::model::Visibility;

/// The need fields that may leave the region, plus the two that decide whether it may.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    id: String,
    region: String,
    title: String,
    description: String,
    desired_outcome: String,
    category: String,
    tags: Vec<String>,
    language: String,
    urgency: String,
    deadline: Option<String>,
    visibility: Visibility,
    care_unit_name: Option<String>,
    consent: Consent,
    routing: Routing,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consent {
    submitter_consent_to_share_externally: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Routing {
    company_call: CompanyCall,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompanyCall {
    #[serde(rename = "type")]
    call_type: String,
    trl_min: Option<u8>,
    trl_max: Option<u8>,
}

/// A need that may be shown outside the region.
pub(super) struct Shareable {
    pub need_id: String,
    /// The need's region.
    pub region: String,
    pub view: Value,
    /// `call` of call.v1.json, `None` when the need asks for no company call.
    pub call: Option<Value>,
}

/// Reads the view of schema-valid need data; refuses a need that may not leave the region.
pub(super) fn shareable(need: &Value) -> Result<Shareable, RoutingError> {
    let source = Source::deserialize(need).map_err(RoutingError::NeedData)?;
    if source.visibility == Visibility::Internal {
        return Err(RoutingError::NotShareable {
            need_id: source.id,
            why: "its visibility is internal",
        });
    }
    if !source.consent.submitter_consent_to_share_externally {
        return Err(RoutingError::NotShareable {
            need_id: source.id,
            why: "the submitter did not consent to external sharing",
        });
    }
    Ok(from_source(source))
}

/// The need id and region of need data that may not be shareable.
pub(super) fn identity(need: &Value) -> Result<(String, String), RoutingError> {
    #[derive(Deserialize)]
    struct Identity {
        id: String,
        region: String,
    }
    let identity = Identity::deserialize(need).map_err(RoutingError::NeedData)?;
    Ok((identity.id, identity.region))
}

fn from_source(source: Source) -> Shareable {
    let optional = |text: Option<String>| text.map_or(Value::Null, Value::String);
    let view = object([
        ("needId", source.id.clone().into()),
        ("region", source.region.clone().into()),
        ("title", source.title.into()),
        ("description", source.description.into()),
        ("desiredOutcome", source.desired_outcome.into()),
        ("category", source.category.into()),
        ("tags", source.tags.into()),
        ("language", source.language.into()),
        ("urgency", source.urgency.into()),
        ("deadline", optional(source.deadline)),
        ("visibility", source.visibility.as_str().into()),
        ("careUnitName", optional(source.care_unit_name)),
    ]);
    let company_call = source.routing.company_call;
    let call = (company_call.call_type != "none").then(|| {
        let mut call = json!({"type": company_call.call_type});
        if let Some(min) = company_call.trl_min {
            call["trlMin"] = json!(min);
        }
        if let Some(max) = company_call.trl_max {
            call["trlMax"] = json!(max);
        }
        call
    });
    Shareable {
        need_id: source.id,
        region: source.region,
        view,
        call,
    }
}
