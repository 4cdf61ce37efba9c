//! A small bilingual (Swedish/English) tokenizer for text relevance.
//!
//! Needs are written in Swedish, English or both; course names and learning outcomes and
//! partner descriptions too. Full-text search machinery would be overkill for a score that only
//! refines the topic ranking, so relevance is the overlap of *stems*:
//!
//! 1. split on anything that is not a letter or digit (so `hälso- och` and `(PDSA,` split
//!    cleanly), lowercase (`Å Ä Ö` included), drop numbers and words shorter than three letters;
//! 2. drop a short Swedish + English stopword list, plus a few words every healthcare text
//!    contains (`vård`, `care`, …) and that would make everything look related;
//! 3. stem by truncation (after dropping the `s` of a short English plural) to the first
//!    [`STEM_LEN`] letters. Truncation is crude but it is the one stemmer that works for both
//!    languages and for Swedish compounds, whose first element is usually the meaningful one:
//!    `flödet` and `flödeskartläggning` both become `flöde`;
//! 4. map a short glossary of Swedish stems to their English counterparts (`flöde` → `flow`,
//!    `förbä(ttring)` → `impro(vement)`), so a Swedish need can meet an English course text.
//!
//! The same function runs on need text (per match) and on catalogue text (once, at upsert), so
//! both sides always agree on what a stem is.

/// Letters kept by the truncation stemmer.
pub(crate) const STEM_LEN: usize = 5;

/// Shortest word (in letters) that can carry meaning here.
const MIN_WORD_LEN: usize = 3;

/// Swedish and English function words, plus words every healthcare text contains.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    // Swedish
    "och", "att", "det", "som", "för", "med", "den", "till", "har", "inte", "var", "ett",
    "men", "från", "vid", "kan", "eller", "här", "där", "när", "hur", "vad", "vilka", "vilken",
    "vill", "ska", "skulle", "sig", "sin", "sina", "sitt", "oss", "vår", "våra", "vårt", "man",
    "mer", "mest", "även", "också", "samt", "utan", "under", "över", "efter", "innan", "genom",
    "mellan", "varje", "alla", "allt", "andra", "annan", "annat", "några", "någon", "något",
    "många", "ofta", "idag", "gärna", "bara", "både", "dessa", "detta", "denna", "deras",
    "blir", "bli", "blev", "får", "finns", "går", "gör", "göra", "står", "tar", "vara", "jag",
    "mig", "min", "mitt", "kunna", "behöver", "samtidigt", "vissa", "sätt", "enkelt", "egna",
    "fram", "ibland", "alltid", "inom", "enligt", "cirka", "ungefär", "före", "själv",
    // English
    "the", "and", "for", "with", "that", "this", "from", "are", "was", "were", "been", "have",
    "has", "had", "not", "but", "all", "any", "can", "could", "would", "should", "will",
    "into", "over", "under", "between", "each", "which", "who", "whom", "what", "when",
    "where", "how", "why", "our", "ours", "their", "them", "they", "its", "his", "her", "you",
    "your", "than", "then", "there", "these", "those", "also", "such", "only", "more", "most",
    "some", "other", "about", "within", "without", "per", "via", "one", "two", "etc", "using",
    "use", "based", "may", "new", "whether", "often", "while", "does", "did", "want", "before",
    "after", "both", "every", "first", "likely", "different", "simple", "would", "welcome",
    "make", "made", "help", "able", "again", "well", "very", "many", "much",
    // Words too common in this domain to tell texts apart
    "vård", "vården", "sjukvården", "hälso", "care", "health", "healthcare",
];

/// Swedish stems and the English stem they stand for (both already truncated).
const GLOSSARY: &[(&str, &str)] = &[
    ("akut", "emerg"),
    ("akute", "emerg"),
    ("akutm", "emerg"),
    ("behov", "need"),
    ("flöda", "flow"),
    ("flöde", "flow"),
    ("förbä", "impro"),
    ("kapac", "capac"),
    ("kartl", "map"),
    ("kvali", "quali"),
    ("läkem", "medic"),
    ("mappi", "map"),
    ("mätba", "measu"),
    ("mätni", "measu"),
    ("plane", "plann"),
    ("prove", "sampl"),
    ("rappo", "repor"),
    ("säker", "safet"),
    ("schem", "sched"),
    ("spårb", "trace"),
    ("strec", "barco"),
    ("tjäns", "servi"),
    ("uppfö", "follo"),
    ("vänte", "waiti"),
    ("äldre", "elder"),
    ("överl", "hando"),
];

/// One content word of a text: its stem (the matching key) and the word as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// The normalised stem, e.g. `flow` for `flödet`.
    pub stem: String,
    /// The lowercased word it came from, e.g. `flödet` (used in reasons).
    pub word: String,
}

/// The content words of `text`, in order, duplicates kept.
pub(crate) fn terms(text: &str) -> impl Iterator<Item = Term> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .filter_map(|raw| {
            let word = raw.to_lowercase();
            let letters = word.chars().count();
            let numeric = word.chars().all(|c| c.is_numeric());
            if letters < MIN_WORD_LEN || numeric || STOPWORDS.contains(&word.as_str()) {
                return None;
            }
            let stem = stem(&word);
            Some(Term { stem, word })
        })
}

/// Truncate a lowercased word to [`STEM_LEN`] letters, then apply the glossary.
///
/// A short English plural (`flows`, `twins`) loses its `s` first: truncation alone would keep
/// it, as the `s` falls inside the kept letters.
fn stem(word: &str) -> String {
    let letters = word.chars().count();
    let word = match word.strip_suffix('s') {
        Some(singular) if letters > 3 && letters <= STEM_LEN && !singular.ends_with('s') => {
            singular
        }
        _ => word,
    };
    let end = word
        .char_indices()
        .nth(STEM_LEN)
        .map_or(word.len(), |(at, _)| at);
    let truncated = &word[..end];
    GLOSSARY
        .iter()
        .find(|(swedish, _)| *swedish == truncated)
        .map_or_else(
            || truncated.to_owned(),
            |(_, english)| (*english).to_owned(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distinct stems of `text`, sorted.
    fn stems(text: &str) -> Vec<String> {
        let mut stems: Vec<String> = terms(text).map(|term| term.stem).collect();
        stems.sort_unstable();
        stems.dedup();
        stems
    }

    fn stems_of(text: &str) -> Vec<String> {
        terms(text).map(|t| t.stem).collect()
    }

    #[test]
    fn lowercases_swedish_letters_and_strips_punctuation() {
        assert_eq!(
            stems_of("ÅTERBESÖK, Ärende; (Överblick)!"),
            ["återb", "ärend", "överb"]
        );
    }

    #[test]
    fn drops_stopwords_short_words_and_numbers() {
        assert_eq!(
            stems_of("Vi vill att det och the 2026 45 minuter"),
            ["minut"]
        );
    }

    #[test]
    fn truncation_joins_inflections_and_compound_heads() {
        let a = stems_of("flödet");
        let b = stems_of("flödeskartläggning");
        assert_eq!(a, b);
        assert_eq!(stems_of("patients patient"), ["patie", "patie"]);
    }

    #[test]
    fn glossary_bridges_swedish_to_english() {
        assert_eq!(stems_of("förbättringsidéer"), stems_of("improvement"));
        assert_eq!(stems_of("kvalitetsutveckling"), stems_of("quality"));
        assert_eq!(stems_of("spårbarhet"), stems_of("traceability"));
        assert_eq!(stems_of("schemaläggning"), stems_of("scheduling"));
    }

    #[test]
    fn keeps_the_written_word_for_reasons() {
        let first = terms("Flödet").next().unwrap();
        assert_eq!(
            first,
            Term {
                stem: "flow".into(),
                word: "flödet".into()
            }
        );
    }

    #[test]
    fn mixed_language_text_yields_both_languages() {
        let found = stems("Fewer same-day cancellations i operationsplaneringen");
        for stem in ["fewer", "same", "day", "cance", "opera"] {
            assert!(
                found.contains(&stem.to_owned()),
                "{stem} missing from {found:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_gives_stems_no_longer_than_stem_len(text in "\\PC{0,200}") {
            for term in terms(&text) {
                proptest::prop_assert!(term.stem.chars().count() <= STEM_LEN);
                proptest::prop_assert!(term.word.chars().count() >= MIN_WORD_LEN);
            }
        }
    }

    #[test]
    fn stems_are_sorted_and_distinct() {
        assert_eq!(stems("flow flödet flows"), ["flow"]);
    }
}
