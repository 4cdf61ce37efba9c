//! The embedded JSON Schema 2020-12 files as AsyncAPI components.
//!
//! AsyncAPI 3.0 payloads are AsyncAPI Schema objects, a superset of JSON Schema draft-07, and
//! `@asyncapi/parser` knows no 2020-12. The schemas in `schemas/` only use keywords draft-07
//! shares, except in two places, which are rewritten here:
//!
//! - `$defs` (2020-12) is lifted out: definition `name` of file `f.v1.json` becomes the
//!   component `f.v1.name`, and each file without its `$defs` becomes the component `f.v1`.
//!   Every `$ref` (`common.v1.json#/$defs/x`, `#/$defs/y`, a full `https://schemas.samverkan.se/`
//!   URI) is pointed at those components, so the document resolves without a network.
//! - A `$ref` with sibling keywords: 2020-12 applies both, draft-07 ignores the siblings. It
//!   becomes `{"allOf": [{"$ref": …}], <siblings>}`, which means the same in both.
//!
//! `$schema` and `$id` are dropped: inside the document they would change the base URI that
//! references resolve against.

use serde_json::{Map, Value};

use super::ContractError;
use crate::event::SCHEMA_BASE;
use crate::schema::SCHEMA_FILES;

/// Where components live inside the document.
const COMPONENTS: &str = "#/components/schemas/";

/// The component name of a schema file: its name without `.json` (`need.v1`).
pub(super) fn component_name(file: &str) -> &str {
    file.strip_suffix(".json").unwrap_or(file)
}

/// A `$ref` to the component of a schema file.
pub(super) fn component_ref(file: &str) -> String {
    format!("{COMPONENTS}{}", component_name(file))
}

/// Every embedded schema file and each of its definitions, as `(component name, schema)`.
pub(super) fn schema_components() -> Result<Map<String, Value>, ContractError> {
    let mut components = Map::new();
    for (file, text) in SCHEMA_FILES {
        let json: Value =
            serde_json::from_str(text).map_err(|source| ContractError::Json { file, source })?;
        let Value::Object(mut root) = json else {
            return Err(ContractError::NotAnObject { file });
        };
        let stem = component_name(file);
        if let Some(defs) = root.remove("$defs") {
            let Value::Object(defs) = defs else {
                return Err(ContractError::NotAnObject { file });
            };
            for (name, def) in defs {
                components.insert(format!("{stem}.{name}"), rewrite(def, file)?);
            }
        }
        root.remove("$schema");
        root.remove("$id");
        components.insert(stem.to_owned(), rewrite(Value::Object(root), file)?);
    }
    Ok(components)
}

/// `value` (part of `file`) with every `$ref` pointed at the components.
fn rewrite(value: Value, file: &'static str) -> Result<Value, ContractError> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|item| rewrite(item, file))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(object) => rewrite_object(object, file),
        other => Ok(other),
    }
}

fn rewrite_object(object: Map<String, Value>, file: &'static str) -> Result<Value, ContractError> {
    let mut out = Map::new();
    let mut reference = None;
    for (key, value) in object {
        match (key.as_str(), value) {
            ("$ref", Value::String(target)) => reference = Some(resolve(&target, file)?),
            (_, value) => {
                out.insert(key, rewrite(value, file)?);
            }
        }
    }
    let Some(reference) = reference else {
        return Ok(Value::Object(out));
    };
    let target = Value::Object(Map::from_iter([("$ref".to_owned(), reference.into())]));
    if out.is_empty() {
        return Ok(target);
    }
    // Siblings: keep them next to an `allOf` holding the reference (first, if one exists).
    match out.get_mut("allOf") {
        Some(Value::Array(all)) => all.insert(0, target),
        _ => {
            out.insert("allOf".to_owned(), Value::Array(vec![target]));
        }
    }
    Ok(Value::Object(out))
}

/// The component reference for `target`, a `$ref` written in `file`.
fn resolve(target: &str, file: &'static str) -> Result<String, ContractError> {
    let relative = target.strip_prefix(SCHEMA_BASE).unwrap_or(target);
    let (document, fragment) = relative.split_once('#').unwrap_or((relative, ""));
    let document = match document {
        "" => file,
        name => SCHEMA_FILES
            .iter()
            .map(|(known, _)| *known)
            .find(|known| *known == name)
            .ok_or_else(|| ContractError::ForeignRef {
                file,
                reference: target.to_owned(),
            })?,
    };
    let stem = component_name(document);
    Ok(match fragment.strip_prefix("/$defs/") {
        Some(definition) => format!("{COMPONENTS}{stem}.{definition}"),
        None => format!("{COMPONENTS}{stem}{fragment}"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            Value::Object(object) => {
                if let Some(Value::String(r)) = object.get("$ref") {
                    found.push(r.clone());
                }
                object.values().for_each(|v| refs(v, found));
            }
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_to_a_component_and_no_2020_12_keyword_is_left() {
        let components = schema_components().expect("embedded schemas convert");
        let mut found = Vec::new();
        components.values().for_each(|c| refs(c, &mut found));
        assert!(!found.is_empty());
        for reference in found {
            let name = reference
                .strip_prefix(COMPONENTS)
                .unwrap_or_else(|| panic!("{reference} is not a local component"));
            let (name, pointer) = name.split_once('/').unwrap_or((name, ""));
            let component = components.get(name).expect(&reference);
            assert!(
                pointer.is_empty() || component.pointer(&format!("/{pointer}")).is_some(),
                "{reference}"
            );
        }
        let text = Value::Object(components).to_string();
        for keyword in ["\"$defs\"", "\"$schema\"", "\"$id\""] {
            assert!(!text.contains(keyword), "{keyword} left in the components");
        }
    }

    #[test]
    fn a_reference_with_siblings_keeps_them_beside_an_all_of() {
        let rewritten = rewrite(
            json!({"$ref": "common.v1.json#/$defs/orgId", "description": "The region."}),
            "need.v1.json",
        )
        .expect("known file");
        assert_eq!(
            rewritten,
            json!({
                "allOf": [{"$ref": "#/components/schemas/common.v1.orgId"}],
                "description": "The region."
            })
        );
        let local = rewrite(json!({"$ref": "#/$defs/role"}), "need.v1.json").expect("local");
        assert_eq!(local, json!({"$ref": "#/components/schemas/need.v1.role"}));
    }

    #[test]
    fn a_reference_outside_the_embedded_schemas_is_an_error() {
        let err = rewrite(
            json!({"$ref": "https://example.com/evil.json"}),
            "need.v1.json",
        )
        .expect_err("foreign");
        assert!(matches!(err, ContractError::ForeignRef { .. }));
    }
}
