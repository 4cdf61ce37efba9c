//! Loading a course catalogue or the partner registry from a JSON document.
//!
//! The sample files (and a provider's catalogue endpoint) hold many entries in one document,
//! with `_`-prefixed annotation keys (`_meta`, `_test`) that belong to no schema. One bad entry
//! must not keep the others out, so each entry is stripped of annotations,
//! validated against its schema and upserted on its own; failures are collected in the
//! [`LoadReport`] with the entry's position and key.

use std::path::Path;

use serde_json::Value;

use super::{Catalogue, CatalogueError, check_kind};
use crate::event::EventType;
use crate::schema::SchemaRegistry;
use crate::settings::OrgKind;

/// What a load did: how many entries went in, and why each other one did not.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Entries added or replaced.
    pub loaded: usize,
    /// Entries refused, in document order.
    pub errors: Vec<EntryError>,
}

/// One refused entry.
#[derive(Debug)]
pub struct EntryError {
    /// Position in the document's entry array, from 0.
    pub index: usize,
    /// The entry's course code or partner id, when it has one.
    pub key: Option<String>,
    /// Why it was refused.
    pub error: CatalogueError,
}

impl Catalogue {
    /// Loads a university's catalogue file (`{"courses": [...]}`) for the university `org`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a catalogue document. Bad entries are not
    /// errors: they are listed in the report.
    pub fn load_course_file(
        &mut self,
        schemas: &SchemaRegistry,
        org: &str,
        path: &Path,
    ) -> Result<LoadReport, CatalogueError> {
        let text = read(path)?;
        self.load_course_str(schemas, org, &text)
    }

    /// [`Catalogue::load_course_file`] on a document already in memory.
    ///
    /// # Errors
    ///
    /// When `text` is not a catalogue document.
    pub fn load_course_str(
        &mut self,
        schemas: &SchemaRegistry,
        org: &str,
        text: &str,
    ) -> Result<LoadReport, CatalogueError> {
        let entries = entries(text, "courses")?;
        let mut report = LoadReport::default();
        for (index, mut entry) in entries.into_iter().enumerate() {
            strip_annotations(&mut entry);
            let key = entry["courseCode"].as_str().map(str::to_owned);
            let result = check(schemas, EventType::CourseUpserted, &entry)
                .and_then(|()| self.upsert_course(org, &entry));
            report.record(index, key, result);
        }
        Ok(report)
    }

    /// Loads the partner registry file (`{"partners": [...]}`). `kind_of` gives the configured
    /// kind of an organisation id: an entry whose id is not a company is refused
    /// ([`CatalogueError::WrongKind`]).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a registry document. Bad entries are listed in
    /// the report.
    pub fn load_partner_registry(
        &mut self,
        schemas: &SchemaRegistry,
        path: &Path,
        kind_of: &dyn Fn(&str) -> Option<OrgKind>,
    ) -> Result<LoadReport, CatalogueError> {
        let text = read(path)?;
        self.load_partner_str(schemas, &text, kind_of)
    }

    /// [`Catalogue::load_partner_registry`] on a document already in memory.
    ///
    /// # Errors
    ///
    /// When `text` is not a registry document.
    pub fn load_partner_str(
        &mut self,
        schemas: &SchemaRegistry,
        text: &str,
        kind_of: &dyn Fn(&str) -> Option<OrgKind>,
    ) -> Result<LoadReport, CatalogueError> {
        let entries = entries(text, "partners")?;
        let mut report = LoadReport::default();
        for (index, mut entry) in entries.into_iter().enumerate() {
            strip_annotations(&mut entry);
            let key = entry["id"].as_str().map(str::to_owned);
            let result = check(schemas, EventType::PartnerUpserted, &entry)
                .and_then(|()| check_kind(key.as_deref().unwrap_or(""), OrgKind::Company, kind_of))
                .and_then(|()| self.upsert_partner(&entry));
            report.record(index, key, result);
        }
        Ok(report)
    }
}

impl LoadReport {
    fn record(&mut self, index: usize, key: Option<String>, result: Result<(), CatalogueError>) {
        match result {
            Ok(()) => self.loaded += 1,
            Err(error) => self.errors.push(EntryError { index, key, error }),
        }
    }
}

fn read(path: &Path) -> Result<String, CatalogueError> {
    std::fs::read_to_string(path).map_err(|source| CatalogueError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The array under `field` of a catalogue document.
fn entries(text: &str, field: &'static str) -> Result<Vec<Value>, CatalogueError> {
    let document: Value = serde_json::from_str(text).map_err(CatalogueError::Json)?;
    match document {
        Value::Object(mut map) => match map.remove(field) {
            Some(Value::Array(entries)) => Ok(entries),
            _ => Err(CatalogueError::NoEntries(field)),
        },
        _ => Err(CatalogueError::NoEntries(field)),
    }
}

fn check(schemas: &SchemaRegistry, kind: EventType, entry: &Value) -> Result<(), CatalogueError> {
    let issues = schemas.data_issues(kind, entry);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(CatalogueError::SchemaInvalid { issues })
    }
}

/// Removes `_`-prefixed keys at every depth: they annotate sample data, no schema has them.
pub fn strip_annotations(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with('_'));
            map.values_mut().for_each(strip_annotations);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_annotations),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn course(code: &str) -> Value {
        json!({
            "courseCode": code,
            "name": {"en": "Flow"},
            "credits": {"value": 7.5, "unit": "hp", "ectsEquivalent": 7.5},
            "educationCycle": "second-cycle",
            "progressionLevel": null,
            "mainFieldOfStudy": ["Industrial Engineering and Management"],
            "department": "TME",
            "grading": "TH",
            "languageOfInstruction": ["en"],
            "iscedF": ["0413"],
            "topics": ["patient-flow"],
            "learningOutcomes": ["Map a flow"],
            "volumeOfLearningHours": 200,
            "entryRequirements": "",
            "examinerRole": "Professor",
            "instances": [],
            "externalCases": {
                "accepts": false, "maxCasesPerInstance": 0, "studentsPerCase": null,
                "caseTypes": [], "requirements": [], "dataPolicy": "not_applicable",
                "ndaPossible": false, "acceptsCompanyCases": false
            },
            "_test": {"note": "annotation, stripped"}
        })
    }

    #[test]
    fn a_bad_entry_is_reported_and_the_rest_load() {
        let schemas = SchemaRegistry::new().unwrap();
        let mut bad = course("TEK999");
        bad["topics"] = json!(["not-a-topic"]);
        let doc = json!({"_meta": {}, "courses": [course("TEK998"), bad, course("TEK997")]});
        let mut catalogue = Catalogue::new();

        let report = catalogue
            .load_course_str(&schemas, "chalmers", &doc.to_string())
            .unwrap();

        assert_eq!(report.loaded, 2);
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].index, 1);
        assert_eq!(report.errors[0].key.as_deref(), Some("TEK999"));
        assert!(matches!(
            report.errors[0].error,
            CatalogueError::SchemaInvalid { .. }
        ));
        assert!(catalogue.course("chalmers", "TEK997").is_some());
    }

    #[test]
    fn a_partner_entry_must_be_a_configured_company() {
        let schemas = SchemaRegistry::new().unwrap();
        let registry: Value =
            serde_json::from_str(include_str!("../../sample-data/partner-registry.json")).unwrap();
        let first = registry["partners"][0].clone();
        let with_id = |id: &str| {
            let mut entry = first.clone();
            entry["id"] = json!(id);
            entry
        };
        let doc = json!({"partners": [with_id("chalmers"), with_id("VGR"), with_id("partner-099"),
                                      with_id("partner-001")]});
        let kind_of = |id: &str| match id {
            "chalmers" => Some(OrgKind::University),
            "VGR" => Some(OrgKind::Region),
            "partner-001" => Some(OrgKind::Company),
            _ => None,
        };
        let mut catalogue = Catalogue::new();
        let report = catalogue
            .load_partner_str(&schemas, &doc.to_string(), &kind_of)
            .unwrap();
        assert_eq!(report.loaded, 1);
        let refused: Vec<String> = report.errors.iter().map(|e| e.error.to_string()).collect();
        assert_eq!(
            refused,
            [
                "`chalmers` is not a configured company: it is configured as a university",
                "`VGR` is not a configured company: it is configured as a region",
                "`partner-099` is not a configured company: no organisation with this id is \
                 configured",
            ]
        );
        assert!(catalogue.partner("partner-001").is_some());
        assert!(catalogue.partner("chalmers").is_none());
    }

    #[test]
    fn a_document_without_entries_is_an_error() {
        let schemas = SchemaRegistry::new().unwrap();
        let mut catalogue = Catalogue::new();
        let any = |_: &str| Some(OrgKind::Company);
        let result = catalogue.load_partner_str(&schemas, r#"{"courses": []}"#, &any);
        assert!(matches!(result, Err(CatalogueError::NoEntries("partners"))));
        let result = catalogue.load_partner_str(&schemas, "not json", &any);
        assert!(matches!(result, Err(CatalogueError::Json(_))));
    }
}
