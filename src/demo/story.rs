//! The demo's acts: regions submit needs, recipients answer. Each act publishes as the
//! organisations would, waits for the hub, and prints what arrived in which queue.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};
use time::macros::datetime;

use super::Stage;
use crate::catalogue::strip_annotations;
use crate::event::{CloudEvent, EventType, Source};
use crate::settings::OrgKind;
use crate::transport::{Outbound, Publish};

/// Who got what for one need.
#[derive(Debug, Default)]
pub(crate) struct Routed {
    /// University → (course code, instance id) of its best matched course.
    pub universities: BTreeMap<String, (String, String)>,
    /// Companies that received a call, best first.
    pub companies: Vec<String>,
}

/// The sample needs, annotations stripped.
pub(crate) fn needs(text: &str) -> anyhow::Result<Vec<Value>> {
    let mut doc: Value = serde_json::from_str(text)?;
    strip_annotations(&mut doc);
    Ok(doc["needs"].as_array().cloned().unwrap_or_default())
}

async fn send(stage: &Stage, org: &str, event: &CloudEvent) -> anyhow::Result<()> {
    let user = stage
        .settings
        .organisation(org)
        .map(|o| o.broker_user.clone())
        .ok_or_else(|| anyhow::anyhow!("{org} is not configured"))?;
    let out = Outbound::to_hub(event);
    for result in stage.broker.publisher_as(user).publish_all(&[out]).await {
        result?;
    }
    Ok(())
}

/// Act 1: both regions submit every sample need.
pub(crate) async fn submit_needs(
    stage: &Stage,
    text: &str,
    out: &mut dyn Write,
) -> anyhow::Result<BTreeMap<String, Routed>> {
    writeln!(out, "\n== 1. The regions submit their needs")?;
    for need in needs(text)? {
        let id = need["id"].as_str().unwrap_or_default().to_owned();
        let region = need["region"].as_str().unwrap_or_default().to_owned();
        let event = CloudEvent::new(
            EventType::NeedSubmitted,
            Source::for_org(&region),
            Some(id.clone()),
            need,
        );
        send(stage, &region, &event).await?;
        writeln!(out, "  {region:<4} submits {id}")?;
    }
    stage.settle().await?;
    writeln!(out, "\n== 2. What the hub did with each need")?;
    let mut routed: BTreeMap<String, Routed> = BTreeMap::new();
    let mut lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for org in &stage.settings.organisations {
        for message in stage.take(org.id.as_str())? {
            let event: Value = serde_json::from_slice(&message.body)?;
            let need = event["subject"].as_str().unwrap_or("?").to_owned();
            let line = describe(
                org.id.as_str(),
                org.kind,
                &event,
                routed.entry(need.clone()).or_default(),
            );
            lines.entry(need).or_default().push(line);
        }
    }
    for (need, lines) in &lines {
        writeln!(out, "  {need}")?;
        for line in lines {
            writeln!(out, "      {line}")?;
        }
    }
    Ok(routed)
}

/// One line for one event an organisation received, noting recipients in `routed`.
fn describe(org: &str, kind: OrgKind, event: &Value, routed: &mut Routed) -> String {
    let data = &event["data"];
    let reasons = |v: &Value| {
        v.as_array()
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    };
    match event["type"].as_str().and_then(EventType::parse) {
        Some(EventType::ChallengePublished) => {
            let course = &data["courses"][0];
            let code = course["courseCode"].as_str().unwrap_or_default().to_owned();
            let instance = course["instanceId"].as_str().unwrap_or_default().to_owned();
            routed
                .universities
                .insert(org.to_owned(), (code.clone(), instance));
            format!(
                "challenge → {org}: {code} (score {:.2}) {}",
                course["score"].as_f64().unwrap_or(0.0),
                reasons(&course["reasons"])
            )
        }
        Some(EventType::CallPublished) => {
            routed.companies.push(org.to_owned());
            format!(
                "call → {org} (score {:.2}): {}",
                data["score"].as_f64().unwrap_or(0.0),
                reasons(&data["reasons"])
            )
        }
        Some(EventType::NeedStatus) => match data["reason"].as_str() {
            Some(reason) => format!(
                "status → {org}: {} ({reason})",
                data["state"].as_str().unwrap_or("?")
            ),
            None => format!("status → {org}: {}", data["state"].as_str().unwrap_or("?")),
        },
        Some(EventType::MessageRejected) => {
            let errors: Vec<String> = data["errors"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .map(|e| {
                            format!(
                                "{} {}",
                                e["instancePath"].as_str().unwrap_or(""),
                                e["message"].as_str().unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "REFUSED → {org} ({kind}): {} — {}",
                data["reason"].as_str().unwrap_or("?"),
                errors.join("; "),
                kind = kind.as_str()
            )
        }
        _ => format!("{} → {org}", event["type"].as_str().unwrap_or("?")),
    }
}

fn answer_event(org: &str, t: EventType, need: &str, data: Value) -> CloudEvent {
    let mut event = CloudEvent::new(t, Source::for_org(org), Some(need.to_owned()), data);
    event.time = datetime!(2026-11-23 09:00 UTC);
    event
}

/// Act 3: Chalmers, MDU and two companies answer; one answer is late, and two events concern a
/// need their sender cannot see (a company without the call answers it, the other region
/// tries to withdraw it): both are told the need is unknown, as if it did not exist.
pub(crate) async fn answer(
    stage: &Stage,
    routed: &BTreeMap<String, Routed>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    writeln!(out, "\n== 3. Universities and companies answer")?;
    let need = "NEED-2026-0101";
    let main = routed
        .get(need)
        .ok_or_else(|| anyhow::anyhow!("{need} was not routed"))?;
    let mut sent: Vec<(String, CloudEvent, &str)> = Vec::new();
    if let Some((code, instance)) = main.universities.get("chalmers") {
        let data = json!({"needId": need, "decision": "offer", "courseCode": code, "instanceId": instance, "cases": 1});
        sent.push((
            "chalmers".into(),
            answer_event("chalmers", EventType::OfferSubmitted, need, data),
            "offers a course",
        ));
    }
    if let Some((mdu_need, (code, instance))) = routed
        .iter()
        .find_map(|(n, r)| r.universities.get("mdu").map(|c| (n, c)))
    {
        let data = json!({"needId": mdu_need, "decision": "offer", "courseCode": code, "instanceId": instance});
        sent.push((
            "mdu".into(),
            answer_event("mdu", EventType::OfferSubmitted, mdu_need, data),
            "offers a course",
        ));
    }
    if let [first, second, ..] = main.companies.as_slice() {
        let proposal = json!({"needId": need, "decision": "proposal", "summary": "A twelve-week pilot of a patient-flow dashboard.", "trl": 8});
        sent.push((
            first.clone(),
            answer_event(first, EventType::ProposalSubmitted, need, proposal.clone()),
            "proposes",
        ));
        let decline =
            json!({"needId": need, "decision": "decline", "note": "Not our focus this year."});
        sent.push((
            second.clone(),
            answer_event(second, EventType::ProposalSubmitted, need, decline),
            "declines",
        ));
        let mut late = answer_event(first, EventType::ProposalSubmitted, need, proposal.clone());
        late.time = datetime!(2027-09-01 09:00 UTC);
        sent.push((
            first.clone(),
            late,
            "proposes again, after the respond-by date",
        ));
        let outsider = stage
            .settings
            .organisations
            .iter()
            .filter(|o| o.kind == OrgKind::Company)
            .map(|o| o.id.to_string())
            .find(|o| !main.companies.contains(o));
        if let Some(outsider) = outsider {
            let event = answer_event(&outsider, EventType::ProposalSubmitted, need, proposal);
            sent.push((outsider, event, "proposes without having received the call"));
        }
    }
    let other_region = stage
        .settings
        .organisations
        .iter()
        .find(|o| o.kind == OrgKind::Region && o.id.as_str() != "VGR")
        .map(|o| o.id.to_string());
    if let Some(region) = other_region {
        let data = json!({"needId": need, "reason": "Not ours to keep."});
        let event = CloudEvent::new(
            EventType::NeedWithdrawn,
            Source::for_org(&region),
            Some(need.to_owned()),
            data,
        );
        sent.push((region, event, "tries to withdraw VGR's need"));
    }
    for (org, event, what) in &sent {
        send(stage, org, event).await?;
        writeln!(
            out,
            "  {org:<12} {what} ({})",
            event.subject.as_deref().unwrap_or("")
        )?;
        // One at a time, so the story reads in order.
        stage.settle().await?;
    }
    writeln!(out, "\n== 4. What came back")?;
    for org in &stage.settings.organisations {
        for message in stage.take(org.id.as_str())? {
            let event: Value = serde_json::from_slice(&message.body)?;
            let line = describe(org.id.as_str(), org.kind, &event, &mut Routed::default());
            writeln!(out, "  {}  {line}", event["subject"].as_str().unwrap_or(""))?;
        }
    }
    Ok(())
}
