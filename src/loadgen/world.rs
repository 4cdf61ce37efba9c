//! The world the bench runs in: the sample organisations, catalogues and partner registry
//! (config/sample.toml and sample-data/, compiled in) and copies of sample need NEED-2026-0101.
//!
//! The data is compiled in, like the demo's, so `samverkan bench` gives the same fan-out from
//! any working directory and with any `--config`: what the bench takes from the operator's
//! configuration is the broker (`[amqp]`: URL, management URL, prefetch, confirm window,
//! delivery limit) and the hub's tuning (`[hub]`, `[limits]`, the store's connection count), so
//! it measures the hub as the operator would run it, on data whose effect is known.
//!
//! The region's broker user is replaced by a user of the bench's own, [`bench_user`] of the
//! run: the bench must not reset the password of a real organisation's user (an
//! organisation's system would be locked out), the bench user's permissions live only in the
//! bench's throwaway vhosts, and two benches on one broker each have their own user (with one
//! shared user, the second bench's new password locked out the first's connections).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use time::Date;
use time::macros::date;

use super::LoadgenError;
use crate::catalogue::strip_annotations;
use crate::event::{CloudEvent, EventType, Source};
use crate::settings::{self, Organisation, Settings};

const SAMPLE_CONFIG: &str = include_str!("../../config/sample.toml");
const NEEDS: &str = include_str!("../../sample-data/needs.json");
/// The sample files the sample configuration names, by file name.
const SAMPLE_FILES: [(&str, &str); 3] = [
    (
        "course-catalogue-chalmers.json",
        include_str!("../../sample-data/course-catalogue-chalmers.json"),
    ),
    (
        "course-catalogue-mdu.json",
        include_str!("../../sample-data/course-catalogue-mdu.json"),
    ),
    (
        "partner-registry.json",
        include_str!("../../sample-data/partner-registry.json"),
    ),
];

/// The sample need every bench need is a copy of.
pub const TEMPLATE_NEED: &str = "NEED-2026-0101";
/// The prefix of the broker user a bench publishes as, in place of the region's own user.
pub const BENCH_USER: &str = "samverkan-bench";

/// The broker user run `run_id` publishes as: [`BENCH_USER`]`-<run_id>`.
#[must_use]
pub fn bench_user(run_id: &str) -> String {
    format!("{BENCH_USER}-{run_id}")
}
/// The sample data's reference date: the hub's clock is pinned to noon of it.
pub const REFERENCE_DATE: Date = date!(2026 - 11 - 22);

/// One need to publish: its ids and the exact bytes sent (the same in both runs).
#[derive(Debug, Clone)]
pub struct NeedMessage {
    /// The need id (the hub's outbound `correlation_id`).
    pub need_id: String,
    /// The CloudEvent id (the ingress `message_id`; the pass-through's `correlation_id`).
    pub event_id: String,
    /// The structured CloudEvent.
    pub body: Vec<u8>,
}

/// The sample settings over the operator's broker and tuning.
#[derive(Debug, Clone)]
pub(crate) struct World {
    /// The hub's settings, without vhost or store yet (see `for_run`).
    pub settings: Settings,
    /// The organisation that submits the needs (NEED-2026-0101's region).
    pub region: Organisation,
}

impl World {
    /// The sample world with `operator`'s broker and tuning and `region_user` as the region's
    /// broker user; catalogue files are written to `dir` (the sample configuration's relative
    /// paths would tie the bench to the repository).
    pub(super) fn new(
        operator: &Settings,
        dir: &Path,
        region_user: &str,
    ) -> Result<Self, LoadgenError> {
        let mut settings = settings::load_str(SAMPLE_CONFIG, HashMap::new())?;
        settings.amqp = operator.amqp.clone();
        settings.hub = operator.hub.clone();
        settings.limits = operator.limits;
        settings.log = operator.log.clone();
        settings.store.max_connections = operator.store.max_connections;
        for course in &mut settings.catalogue.courses {
            course.path = write_sample(dir, &course.path)?;
        }
        for registry in &mut settings.catalogue.partner_registries {
            *registry = write_sample(dir, registry)?;
        }
        let template = template_need()?;
        let region_id = template["region"].as_str().unwrap_or_default().to_owned();
        let region = settings
            .organisations
            .iter_mut()
            .find(|o| o.id.as_str() == region_id)
            .ok_or_else(|| LoadgenError::Sample(format!("region {region_id:?} not configured")))?;
        region.broker_user = region_user.to_owned();
        let region = region.clone();
        Ok(Self { settings, region })
    }

    /// The settings of one hub run: broker URL (with its vhost) and store URL.
    pub(super) fn for_run(&self, amqp_url: String, store_url: &str, name: &str) -> Settings {
        let mut settings = self.settings.clone();
        settings.amqp.url = amqp_url;
        settings.amqp.connection_name = name.to_owned();
        settings.store.url = store_url.to_owned();
        settings
    }
}

/// Copy the embedded sample file named like `path` into `dir`; the new path.
fn write_sample(dir: &Path, path: &Path) -> Result<std::path::PathBuf, LoadgenError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (_, text) = SAMPLE_FILES
        .iter()
        .find(|(file, _)| *file == name)
        .ok_or_else(|| LoadgenError::Sample(format!("no embedded sample file {name:?}")))?;
    let target = dir.join(name);
    std::fs::write(&target, text)?;
    Ok(target)
}

/// NEED-2026-0101 without the sample data's `_` annotations.
fn template_need() -> Result<Value, LoadgenError> {
    let doc: Value = serde_json::from_str(NEEDS)
        .map_err(|e| LoadgenError::Sample(format!("sample-data/needs.json: {e}")))?;
    let mut need = doc["needs"]
        .as_array()
        .and_then(|needs| needs.iter().find(|n| n["id"] == TEMPLATE_NEED))
        .cloned()
        .ok_or_else(|| LoadgenError::Sample(format!("{TEMPLATE_NEED} is not in needs.json")))?;
    strip_annotations(&mut need);
    Ok(need)
}

/// `count` copies of NEED-2026-0101 from its region, ids `BENCH-<run_id>-000000`…: index 0
/// is the warm-up need, the rest are measured.
pub fn need_messages(run_id: &str, count: usize) -> Result<Vec<NeedMessage>, LoadgenError> {
    let template = template_need()?;
    let region = template["region"].as_str().unwrap_or_default().to_owned();
    let source = Source::for_org(&region);
    Ok((0..count)
        .map(|i| {
            let need_id = format!("BENCH-{run_id}-{i:06}");
            let mut data = template.clone();
            data["id"] = Value::String(need_id.clone());
            let event = CloudEvent::new(
                EventType::NeedSubmitted,
                source.clone(),
                Some(need_id.clone()),
                data,
            );
            NeedMessage {
                need_id,
                event_id: event.id.as_ref().to_owned(),
                body: event.to_json_bytes(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_are_unique_copies_of_the_template() {
        let needs = need_messages("t1", 3).unwrap();
        assert_eq!(needs[2].need_id, "BENCH-t1-000002");
        let body: Value = serde_json::from_slice(&needs[1].body).unwrap();
        assert_eq!(body["subject"], "BENCH-t1-000001");
        assert_eq!(body["data"]["id"], "BENCH-t1-000001");
        assert_eq!(body["type"], EventType::NeedSubmitted.as_str());
        assert!(!String::from_utf8_lossy(&needs[0].body).contains("\"_test\""));
        assert_ne!(needs[0].event_id, needs[1].event_id);
    }

    #[test]
    fn the_world_is_the_sample_one_with_the_bench_user_as_the_region() {
        let dir = tempfile::TempDir::new().unwrap();
        let operator = settings::load_str("", HashMap::new()).unwrap();
        let world = World::new(&operator, dir.path(), &bench_user("r1")).unwrap();
        assert_eq!(world.region.id.as_str(), "VGR");
        assert_eq!(world.region.broker_user, "samverkan-bench-r1");
        assert!(world.settings.organisations.len() > 10);
        for course in &world.settings.catalogue.courses {
            assert!(course.path.starts_with(dir.path()) && course.path.exists());
        }
        let run = world.for_run("amqp://g:g@h/v".into(), "sqlite::memory:", "x");
        assert_eq!(run.store.url, "sqlite::memory:");
    }
}
