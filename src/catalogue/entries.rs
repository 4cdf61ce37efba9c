//! [`Catalogue`], the catalogue held in memory: courses by (university, course code), partners
//! by id, and their topic index. (Nothing here is persisted; `crate::store` is the database.)
//!
//! Entries live in slots (a `Vec` with a free list) so that the index can refer to them by a
//! `u32`. What the matcher needs for *every* candidate — topic bitset and owning university —
//! is copied into the postings themselves ([`super::index::Posting`]); an entry's own data is
//! read only for the few candidates that get scored.
//!
//! Only entries that could ever be routed to are indexed: a course that takes no external
//! cases or has no case intake, or a partner that is not active or not subscribed, is stored
//! (it can be read back and updated) but costs nothing when a need is matched.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use time::{Date, Duration};

use super::CatalogueError;
use super::digest::Digest;
use super::index::{Posting, Postings, TopicSet, Topics};
use super::model::{Course, Partner};
use crate::dates::period_number;
use crate::settings::OrgId;
use crate::text::terms;

/// Slots with a free list: removal keeps every other slot number stable.
#[derive(Clone, Debug)]
struct Slots<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slots<T> {
    fn insert(&mut self, item: T) -> u32 {
        if let Some(slot) = self.free.pop() {
            self.items[slot as usize] = Some(item);
            return slot;
        }
        self.items.push(Some(item));
        // A catalogue of more than 4 billion entries does not fit in memory anyway.
        u32::try_from(self.items.len() - 1).unwrap_or(u32::MAX)
    }

    fn take(&mut self, slot: u32) -> Option<T> {
        let item = self.items.get_mut(slot as usize)?.take();
        if item.is_some() {
            self.free.push(slot);
        }
        item
    }

    fn get(&self, slot: u32) -> Option<&T> {
        self.items.get(slot as usize)?.as_ref()
    }
}

/// A course with what matching precomputes for it.
#[derive(Clone, Debug)]
pub(crate) struct CourseSlot {
    /// Index into [`Catalogue::university`].
    pub org: u16,
    pub course: Course,
    pub topics: TopicSet,
    /// Sorted, distinct stem ids of name and learning outcomes.
    pub terms: Box<[u32]>,
    /// One plan per `course.instances` entry, same order.
    pub plans: Vec<InstancePlan>,
    pub digest: Digest,
}

/// Study-period facts of one instance, derived once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InstancePlan {
    /// Bit `n` set for period `LPn`/`Pn` (the two numberings are treated as the same period).
    pub periods: u8,
    /// When the instance's first study period ends. Exact for a one-period instance; for an
    /// instance over `k` periods, estimated as start + (end − start) / k, because the course
    /// data gives the instance's dates but not each period's.
    pub first_period_end: Date,
    /// Whether `first_period_end` is an estimate.
    pub estimated: bool,
}

/// A partner with what matching precomputes for it.
#[derive(Clone, Debug)]
pub(crate) struct PartnerSlot {
    pub partner: Partner,
    /// Subscription topics: the index key and the topic overlap (what the company asked calls
    /// about).
    pub subscribed: TopicSet,
    /// Capability tags (what the registry says the company can do).
    pub capabilities: TopicSet,
    /// Sorted, distinct stem ids of the description.
    pub terms: Box<[u32]>,
    pub digest: Digest,
}

/// Courses and partners, indexed by topic. See the module docs of [`crate::catalogue`].
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub(crate) topics: Topics,
    pub(crate) terms: super::index::Terms,
    universities: Vec<String>,
    university_ids: HashMap<String, u16>,
    courses: Slots<CourseSlot>,
    course_keys: HashMap<(u16, String), u32>,
    pub(crate) course_index: Postings,
    partners: Slots<PartnerSlot>,
    partner_keys: HashMap<String, u32>,
    pub(crate) partner_index: Postings,
}

impl Catalogue {
    /// An empty catalogue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the course in `data` (schema-valid `course.v1.json` data) for the
    /// university `org` — the sender of the `course.upserted` event or the owner of the file.
    ///
    /// # Errors
    ///
    /// When `org` is not an organisation id, `data` is not a course, or its topics overflow
    /// the index (`super::index::MAX_TOPICS`).
    pub fn upsert_course(&mut self, org: &str, data: &Value) -> Result<(), CatalogueError> {
        let course = Course::deserialize(data).map_err(|source| CatalogueError::InvalidCourse {
            org: org.to_owned(),
            code: data["courseCode"].as_str().map(str::to_owned),
            source,
        })?;
        self.upsert_course_entry(org, course)
    }

    /// Adds or replaces an already typed course for the university `org`.
    ///
    /// # Errors
    ///
    /// As [`Catalogue::upsert_course`], except for parsing.
    pub fn upsert_course_entry(&mut self, org: &str, course: Course) -> Result<(), CatalogueError> {
        let org = self.university_index(org)?;
        let key = (org, course.course_code.clone());
        if let Some(slot) = self.course_keys.remove(&key) {
            self.drop_course(slot);
        }
        let topics = self.topic_set(&course.topics)?;
        let texts = [course.name.sv.as_deref(), course.name.en.as_deref()]
            .into_iter()
            .flatten()
            .chain(course.learning_outcomes.iter().map(String::as_str));
        let terms = self.term_ids(texts);
        let plans: Vec<InstancePlan> = course.instances.iter().map(InstancePlan::of).collect();
        let digest = Digest::course(&course, &plans);
        let indexed = course.external_cases.accepts
            && course.instances.iter().any(|i| i.case_intake.is_some());
        let slot = self.courses.insert(CourseSlot {
            org,
            course,
            topics,
            terms,
            plans,
            digest,
        });
        if indexed {
            self.course_index.insert(Posting {
                slot,
                org,
                digest,
                topics,
            });
        }
        self.course_keys.insert(key, slot);
        Ok(())
    }

    /// Removes a course, or only one of its instances (`course-removed.v1.json`).
    ///
    /// # Errors
    ///
    /// [`CatalogueError::UnknownCourse`] / [`CatalogueError::UnknownInstance`] when there is
    /// nothing to remove.
    pub fn remove_course(
        &mut self,
        org: &str,
        code: &str,
        instance: Option<&str>,
    ) -> Result<(), CatalogueError> {
        let unknown = || CatalogueError::UnknownCourse {
            org: org.to_owned(),
            code: code.to_owned(),
        };
        let org_index = *self.university_ids.get(org).ok_or_else(unknown)?;
        let key = (org_index, code.to_owned());
        let slot = *self.course_keys.get(&key).ok_or_else(unknown)?;
        let Some(instance_id) = instance else {
            self.course_keys.remove(&key);
            self.drop_course(slot);
            return Ok(());
        };
        let mut course = self.courses.get(slot).ok_or_else(unknown)?.course.clone();
        let before = course.instances.len();
        course.instances.retain(|i| i.instance_id != instance_id);
        if course.instances.len() == before {
            return Err(CatalogueError::UnknownInstance {
                org: org.to_owned(),
                code: code.to_owned(),
                instance: instance_id.to_owned(),
            });
        }
        self.upsert_course_entry(org, course)
    }

    /// Adds or replaces the partner in `data` (schema-valid `partner.v1.json` data).
    ///
    /// # Errors
    ///
    /// When `data` is not a partner or its topics overflow the index.
    pub fn upsert_partner(&mut self, data: &Value) -> Result<(), CatalogueError> {
        let partner =
            Partner::deserialize(data).map_err(|source| CatalogueError::InvalidPartner {
                id: data["id"].as_str().map(str::to_owned),
                source,
            })?;
        self.upsert_partner_entry(partner)
    }

    /// Adds or replaces an already typed partner.
    ///
    /// # Errors
    ///
    /// When its topics overflow the index.
    pub fn upsert_partner_entry(&mut self, partner: Partner) -> Result<(), CatalogueError> {
        OrgId::parse(&partner.id).map_err(|source| CatalogueError::InvalidOrg {
            org: partner.id.clone(),
            source,
        })?;
        if let Some(slot) = self.partner_keys.remove(&partner.id) {
            self.drop_partner(slot);
        }
        let subscribed = self.topic_set(&partner.subscription.topics)?;
        let capabilities = self.topic_set(&partner.capability_tags)?;
        let terms = self.term_ids([partner.description.as_str()].into_iter());
        let digest = Digest::partner(&partner);
        let id = partner.id.clone();
        let slot = self.partners.insert(PartnerSlot {
            partner,
            subscribed,
            capabilities,
            terms,
            digest,
        });
        if digest.active() {
            self.partner_index.insert(Posting {
                slot,
                org: 0,
                digest,
                topics: subscribed,
            });
        }
        self.partner_keys.insert(id, slot);
        Ok(())
    }

    /// The course `code` of university `org`.
    #[must_use]
    pub fn course(&self, org: &str, code: &str) -> Option<&Course> {
        let org = *self.university_ids.get(org)?;
        let slot = *self.course_keys.get(&(org, code.to_owned()))?;
        self.courses.get(slot).map(|s| &s.course)
    }

    /// The partner `id`.
    #[must_use]
    pub fn partner(&self, id: &str) -> Option<&Partner> {
        let slot = *self.partner_keys.get(id)?;
        self.partners.get(slot).map(|s| &s.partner)
    }

    /// Universities that have (or had) courses here, in order of first appearance.
    #[must_use]
    pub fn universities(&self) -> &[String] {
        &self.universities
    }

    pub(crate) fn university(&self, index: u16) -> &str {
        self.universities
            .get(usize::from(index))
            .map_or("", String::as_str)
    }

    pub(crate) fn course_slot(&self, slot: u32) -> Option<&CourseSlot> {
        self.courses.get(slot)
    }

    pub(crate) fn partner_slot(&self, slot: u32) -> Option<&PartnerSlot> {
        self.partners.get(slot)
    }

    fn university_index(&mut self, org: &str) -> Result<u16, CatalogueError> {
        if let Some(&index) = self.university_ids.get(org) {
            return Ok(index);
        }
        OrgId::parse(org).map_err(|source| CatalogueError::InvalidOrg {
            org: org.to_owned(),
            source,
        })?;
        let index = u16::try_from(self.universities.len())
            .map_err(|_| CatalogueError::TooManyUniversities)?;
        self.universities.push(org.to_owned());
        self.university_ids.insert(org.to_owned(), index);
        Ok(index)
    }

    fn drop_course(&mut self, slot: u32) {
        if let Some(old) = self.courses.take(slot) {
            self.course_index.remove(slot, old.topics);
        }
    }

    fn drop_partner(&mut self, slot: u32) {
        if let Some(old) = self.partners.take(slot) {
            self.partner_index.remove(slot, old.subscribed);
        }
    }

    fn topic_set(&mut self, topics: &[String]) -> Result<TopicSet, CatalogueError> {
        let mut set = TopicSet::EMPTY;
        for topic in topics {
            let id = self
                .topics
                .intern(topic)
                .ok_or_else(|| CatalogueError::TooManyTopics {
                    topic: topic.clone(),
                })?;
            set.insert(id);
        }
        Ok(set)
    }

    fn term_ids<'a>(&mut self, texts: impl Iterator<Item = &'a str>) -> Box<[u32]> {
        let mut ids: Vec<u32> = texts
            .flat_map(terms::terms)
            .map(|term| self.terms.intern(&term.stem))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_boxed_slice()
    }
}

impl InstancePlan {
    fn of(instance: &super::model::Instance) -> Self {
        let periods = instance
            .study_periods
            .iter()
            .filter_map(|p| period_number(p))
            .fold(0u8, |mask, n| mask | (1 << n));
        let count = instance.study_periods.len().max(1);
        let span = (instance.end_date - instance.start_date)
            .whole_days()
            .max(0);
        let first_period_end = if count == 1 {
            instance.end_date
        } else {
            // `count` is at most 4 periods, so the cast cannot truncate.
            instance.start_date + Duration::days(span / count as i64)
        };
        Self {
            periods,
            first_period_end,
            estimated: count > 1,
        }
    }
}
