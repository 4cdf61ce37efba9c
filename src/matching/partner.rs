//! Companies: hard filters, score and reasons, top N overall.
//!
//! The index key and the topic overlap are the partner's *subscription* topics — a company
//! subscribes to calls by topic, and the contract's example reasons list exactly the
//! subscribed overlap. Capability tags (what the registry says it can do) and the product's
//! TRL make up the fit part of the score.
//!
//! Filters, in order: registry status and subscription active; not paused today (through
//! `pausedUntil`); call type subscribed; the need's visibility accepted; for `partners_nda`
//! needs a signed NDA valid today (through `expires`); the need's language accepted; the
//! partner's TRL interest (from `subscription.trlMin`) reaching into the call's range — all
//! answered from the posting's [`Digest`] — then, from the entry: not already among the
//! need's matches; the need's county in the subscription's regions (the registry's
//! `regionsServed` when the subscription names none; `SE` covers all). The product's own TRL
//! only ranks.

use super::context::{Ctx, Work};
use super::explain;
use super::filter::Filter;
use super::outcome::CompanyMatch;
use super::profile::NeedLanguage;
use super::rank::{
    Candidates, Pick, TopN, combine, single_topic_candidates, text_score, topic_score,
};
use crate::catalogue::PartnerSlot;
use crate::catalogue::digest::Digest;
use crate::catalogue::index::{Posting, TopicSet};
use crate::catalogue::model::{LanguageCode, Partner, Visibility};

/// Fit weights: product TRL inside the call's range; capability tags covering the need.
const FIT_TRL: f64 = 0.6;
const FIT_CAPABILITY: f64 = 0.4;

/// Matches the need against the partner registry; best first.
pub(super) fn match_partners(ctx: &Ctx<'_>, work: &mut Work) -> Vec<CompanyMatch> {
    let catalogue = ctx.catalogue;
    let candidates = Candidates::collect(&catalogue.partner_index, &ctx.ordered, ctx.need_topics);
    work.considered += candidates.considered;
    let mut top = TopN::new(ctx.options.max_companies);
    for (overlap, posting) in candidates.descending(ctx.need_topics) {
        consider(ctx, work, &mut top, posting, overlap);
    }
    let threshold = top.threshold(ctx.options.min_score);
    let reachable = |set: TopicSet| combine(ctx.topic_part(1, set), 1.0, 1.0) >= threshold;
    let scope: Vec<_> = if reachable(TopicSet::EMPTY) {
        ctx.ordered.clone()
    } else {
        ctx.category_id()
            .filter(|&id| reachable(TopicSet::EMPTY.with(id)))
            .into_iter()
            .collect()
    };
    single_topic_candidates(
        &catalogue.partner_index,
        &scope,
        ctx.need_topics,
        |posting| {
            consider(ctx, work, &mut top, posting, 1);
        },
    );
    top.into_picks()
        .iter()
        .filter_map(|pick| {
            let entry = catalogue.partner_slot(pick.slot)?;
            let explain = (ctx.explain)(&entry.partner.id);
            Some(CompanyMatch {
                partner_id: entry.partner.id.clone(),
                score: pick.score,
                reasons: if explain {
                    super::reasons::company(ctx, entry)
                } else {
                    Vec::new()
                },
                topics: if explain {
                    ctx.shared_topics(entry.subscribed)
                } else {
                    Vec::new()
                },
            })
        })
        .collect()
}

/// Scores one candidate unless its upper bound cannot enter the top N.
fn consider(ctx: &Ctx<'_>, work: &mut Work, top: &mut TopN, posting: &Posting, overlap: usize) {
    let min_score = ctx.options.min_score;
    let (slot, topic) = (posting.slot, ctx.topic_part(overlap, posting.topics));
    let fit_bound = FIT_TRL * trl_fit(ctx, posting.digest) + FIT_CAPABILITY;
    if combine(topic, 1.0, fit_bound) < top.threshold(min_score) {
        return;
    }
    work.scored += 1;
    let entry = || ctx.catalogue.partner_slot(slot);
    // The entry is read only when the digest cannot reject the candidate.
    let verdict = match quick_check(ctx, posting.digest) {
        Err(filter) => Err(filter),
        Ok(()) => match entry() {
            Some(entry) => evaluate(ctx, entry, topic).map(|score| Pick {
                score,
                period_end: time::Date::MIN,
                slot,
                instance: 0,
            }),
            None => return,
        },
    };
    let name = || entry().map_or_else(String::new, |e| e.partner.id.clone());
    match verdict {
        Ok(pick) if pick.score >= min_score => {
            top.offer(pick, |a, b| id_of(ctx, a.slot) < id_of(ctx, b.slot));
        }
        Ok(pick) => work.exclude(Filter::BelowMinScore, || {
            (name(), explain::below_min(pick.score, min_score))
        }),
        Err(filter) => work.exclude(filter, || {
            let detail = entry().map(|e| explain::partner(ctx, &e.partner, filter));
            (name(), detail.unwrap_or_default())
        }),
    }
}

/// The filters a posting's digest answers, in the order of the module docs.
fn quick_check(ctx: &Ctx<'_>, digest: Digest) -> Result<(), Filter> {
    let profile = ctx.profile;
    let (_, high) = profile.call.as_ref().ok_or(Filter::CallType)?.trl_range();
    if !digest.active() {
        return Err(Filter::PartnerInactive);
    }
    if digest.paused_on(ctx.today_day) {
        return Err(Filter::SubscriptionPaused);
    }
    if !ctx
        .call_index
        .is_some_and(|index| digest.subscribes_to_call(index))
    {
        return Err(Filter::CallType);
    }
    if !digest.accepts(profile.visibility) {
        return Err(Filter::Visibility);
    }
    if profile.visibility == Visibility::PartnersNda && !digest.nda_valid_on(ctx.today_day) {
        return Err(if digest.nda_signed() {
            Filter::NdaExpired
        } else {
            Filter::NdaMissing
        });
    }
    let speaks = match profile.language {
        NeedLanguage::Mixed => digest.speaks(LanguageCode::Sv) || digest.speaks(LanguageCode::En),
        NeedLanguage::Sv => digest.speaks(LanguageCode::Sv),
        NeedLanguage::En => digest.speaks(LanguageCode::En),
    };
    if !speaks {
        return Err(Filter::Language);
    }
    if digest.trl_min() > u16::from(high) {
        return Err(Filter::Trl);
    }
    Ok(())
}

/// The entry filters, then the score.
fn evaluate(ctx: &Ctx<'_>, entry: &PartnerSlot, topic: f64) -> Result<f64, Filter> {
    let partner = &entry.partner;
    if ctx.profile.known_partners.contains(&partner.id) {
        return Err(Filter::AlreadyMatched);
    }
    let covered = regions_of(partner)
        .iter()
        .any(|r| r == "SE" || Some(r.as_str()) == ctx.county);
    if !covered {
        return Err(Filter::Region);
    }
    let capable = entry.capabilities.and(ctx.need_topics).len();
    let capability = topic_score(capable, ctx.profile.tags.len(), None);
    let fit = FIT_TRL * trl_fit(ctx, entry.digest) + FIT_CAPABILITY * capability;
    Ok(combine(
        topic,
        text_score(ctx.hits.count(&entry.terms)),
        fit,
    ))
}

/// 1 when the product's TRL lies in the call's range, 0.5 without a product TRL, else 0.
fn trl_fit(ctx: &Ctx<'_>, digest: Digest) -> f64 {
    match (digest.product_trl(), &ctx.profile.call) {
        (Some(trl), Some(call)) => {
            let (low, high) = call.trl_range();
            f64::from(u8::from((low..=high).contains(&trl)))
        }
        _ => 0.5,
    }
}

/// The regions a partner takes calls from: its subscription's, else those it serves.
pub(super) fn regions_of(partner: &Partner) -> &[String] {
    if partner.subscription.regions.is_empty() {
        &partner.regions_served
    } else {
        &partner.subscription.regions
    }
}

fn id_of<'c>(ctx: &Ctx<'c>, slot: u32) -> &'c str {
    ctx.catalogue
        .partner_slot(slot)
        .map_or("", |e| e.partner.id.as_str())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testkit::{need, partner, run};
    use super::*;

    /// The filter that excluded the one partner, or `None` when it got the call.
    fn verdict(need: &Value, partner: &Value) -> Option<Filter> {
        let outcome = run(need, &[], std::slice::from_ref(partner));
        match outcome.companies.first() {
            Some(_) => None,
            None => Some(outcome.exclusions.examples[0].filter),
        }
    }

    #[test]
    fn a_subscribed_partner_with_a_valid_nda_gets_the_call() {
        let outcome = run(&need(), &[], &[partner("partner-1")]);
        let call = &outcome.companies[0];
        assert_eq!(call.reasons[0], "topics: lean");
        assert!(
            call.reasons
                .contains(&"NDA valid until 2027-02-10".to_owned())
        );
        assert!(
            call.reasons
                .contains(&"product TRL 7 within 5–8".to_owned())
        );
    }

    #[test]
    fn each_filter_excludes_on_its_own() {
        let cases: [(&str, Value, Filter); 7] = [
            (
                "/subscription/pausedUntil",
                json!("2026-11-22"),
                Filter::SubscriptionPaused,
            ),
            (
                "/subscription/callTypes",
                json!(["market_dialogue"]),
                Filter::CallType,
            ),
            (
                "/subscription/visibilityLevels",
                json!(["public"]),
                Filter::Visibility,
            ),
            ("/nda/expires", json!("2026-11-21"), Filter::NdaExpired),
            ("/subscription/languages", json!(["en"]), Filter::Language),
            ("/subscription/trlMin", json!(9), Filter::Trl),
            ("/subscription/regions", json!(["SE-U"]), Filter::Region),
        ];
        for (pointer, value, filter) in cases {
            let mut bent = partner("partner-1");
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            bent.pointer_mut(parent).unwrap()[key] = value;
            assert_eq!(verdict(&need(), &bent), Some(filter), "{pointer}");
        }
    }

    #[test]
    fn dates_are_inclusive_and_nationwide_covers_every_region() {
        let mut last_day = partner("partner-1");
        last_day["nda"]["expires"] = json!("2026-11-22");
        last_day["subscription"]["pausedUntil"] = json!("2026-11-21");
        last_day["subscription"]["regions"] = json!(["SE"]);
        assert_eq!(verdict(&need(), &last_day), None);
    }

    #[test]
    fn public_needs_need_no_nda() {
        let mut unsigned = partner("partner-1");
        unsigned["nda"] = json!({"signed": false, "expires": null});
        let mut public = need();
        public["visibility"] = json!("public");
        assert_eq!(verdict(&need(), &unsigned), Some(Filter::NdaMissing));
        assert_eq!(verdict(&public, &unsigned), None);
    }

    #[test]
    fn inactive_partners_are_not_even_candidates() {
        let mut pending = partner("partner-1");
        pending["status"] = json!("pending_verification");
        let outcome = run(&need(), &[], &[pending]);
        assert!(outcome.companies.is_empty());
        assert_eq!(outcome.candidates_considered, 0);
    }
}
