//! Swedish and English labels, in one table, and how a request's language is chosen.
//!
//! Care staff read Swedish, international students and partners English. The language is the
//! `lang` query parameter when a page is asked for with one (the switch links; the answer also
//! sets the `lang` cookie), else the `lang` cookie, else the first of `sv` and `en` in the
//! browser's `Accept-Language`, else Swedish. Every label a page shows is a key of [`LABELS`];
//! data (ids, codes, catalogue text) is shown as it is.

use axum::http::HeaderMap;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// Svenska.
    Sv,
    /// English.
    En,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "sv" => Some(Self::Sv),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language of a request: `lang` in the query, the `lang` cookie, `Accept-Language`.
    pub(crate) fn of(query: Option<&str>, headers: &HeaderMap) -> Self {
        query_lang(query)
            .or_else(|| super::guard::cookie(headers, "lang").and_then(|c| Self::parse(&c)))
            .or_else(|| accepted(headers))
            .unwrap_or(Self::Sv)
    }

    /// The label `key` in this language (the key itself when the table lacks it, which a unit
    /// test rules out for every key the pages use).
    pub(crate) fn t(self, key: &'static str) -> &'static str {
        LABELS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or(key, |(_, sv, en)| match self {
                Self::Sv => sv,
                Self::En => en,
            })
    }
}

/// `lang=sv|en` in a query string.
pub(crate) fn query_lang(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|pair| pair.strip_prefix("lang="))
        .find_map(Lang::parse)
}

/// The first of `sv` and `en` in `Accept-Language` (`sv-SE`, `en-GB` count; q-values are read
/// as the order the browser wrote them, which is how browsers write them).
fn accepted(headers: &HeaderMap) -> Option<Lang> {
    let value = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)?
        .to_str()
        .ok()?;
    value.split(',').find_map(|tag| {
        let tag = tag.split(';').next()?.trim().to_ascii_lowercase();
        Lang::parse(tag.split('-').next()?)
    })
}

/// Every label: key, Swedish, English.
pub(crate) const LABELS: &[(&str, &str, &str)] = &[
    ("title", "Samverkan – konsol", "Samverkan – console"),
    ("login", "Logga in", "Log in"),
    ("logout", "Logga ut", "Log out"),
    ("username", "Användarnamn", "User name"),
    ("password", "Lösenord", "Password"),
    (
        "login_failed",
        "Fel användarnamn eller lösenord.",
        "Wrong user name or password.",
    ),
    (
        "login_throttled",
        "För många misslyckade försök. Försök igen om en stund.",
        "Too many failed attempts. Try again in a while.",
    ),
    ("needs", "Behov", "Needs"),
    ("need", "Behov", "Need"),
    ("dead_letters", "Avvisade meddelanden", "Dead letters"),
    ("region", "Region", "Region"),
    ("state", "Status", "State"),
    ("topic", "Ämne", "Topic"),
    (
        "age_days",
        "Högst så här många dagar gammalt",
        "At most this many days old",
    ),
    ("all", "Alla", "All"),
    ("filter", "Filtrera", "Filter"),
    ("need_id", "Behovs-id", "Need id"),
    ("category", "Kategori", "Category"),
    ("tags", "Ämnen", "Topics"),
    ("urgency", "Angelägenhet", "Urgency"),
    ("recipients", "Mottagare", "Recipients"),
    ("created", "Mottaget", "Received"),
    ("updated", "Ändrat", "Changed"),
    ("respond_by", "Svar senast", "Respond by"),
    ("reason", "Orsak", "Reason"),
    ("score", "Poäng", "Score"),
    ("reasons", "Varför", "Why"),
    ("courses", "Kurser", "Courses"),
    ("answers", "Svar", "Answers"),
    ("no_answers", "Inga svar ännu.", "No answers yet."),
    ("no_recipients", "Inga mottagare.", "No recipients."),
    ("history", "Historik", "History"),
    ("latest_answer", "Senaste svar", "Latest answer"),
    ("none", "–", "–"),
    ("previous", "Föregående", "Previous"),
    ("next", "Nästa", "Next"),
    ("page", "Sida", "Page"),
    ("of_total", "av", "of"),
    ("no_needs", "Inga behov matchar.", "No needs match."),
    ("health", "Driftläge", "Health"),
    ("broker", "Meddelandeförmedlare", "Broker"),
    ("store", "Databas", "Store"),
    ("paused", "Pausad", "Paused"),
    ("running", "Kör", "Running"),
    ("outbox", "Utkorg", "Outbox"),
    ("oldest", "äldsta", "oldest"),
    (
        "refusals_hour",
        "Avvisningar senaste timmen",
        "Refusals in the last hour",
    ),
    ("no_refusals", "inga", "none"),
    ("ok", "ok", "ok"),
    ("down", "nere", "down"),
    ("none_configured", "i processen", "in-process"),
    ("reconnecting", "återansluter", "reconnecting"),
    ("connected", "ansluten", "connected"),
    ("not_found", "Finns inte.", "Not found."),
    (
        "forbidden",
        "Du har inte behörighet.",
        "You are not allowed to do that.",
    ),
    (
        "unavailable",
        "Databasen svarar inte just nu.",
        "The store does not answer right now.",
    ),
    ("language", "Språk", "Language"),
    ("coach", "innovationscoach", "innovation coach"),
    ("operator", "operatör", "operator"),
    ("event", "Händelse", "Event"),
    ("org", "Organisation", "Organisation"),
    ("time", "Tid", "Time"),
    ("decision", "Beslut", "Decision"),
    ("sender", "Avsändare", "Sender"),
    ("detail", "Detaljer", "Detail"),
    ("replay", "Skicka igen", "Replay"),
    ("replay_selected", "Skicka valda igen", "Replay selected"),
    ("nothing_selected", "Inget valt.", "Nothing selected."),
    ("not_replayable", "Kan inte skickas igen", "Not replayable"),
    (
        "broker_unavailable",
        "Meddelandeförmedlaren svarar inte just nu.",
        "The broker does not answer right now.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_comes_from_query_cookie_header_in_that_order() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(None, &headers), Lang::Sv);
        headers.insert(
            "accept-language",
            "de-DE, en-GB;q=0.8, sv;q=0.5".parse().expect("v"),
        );
        assert_eq!(Lang::of(None, &headers), Lang::En);
        headers.insert("cookie", "x=1; lang=sv".parse().expect("v"));
        assert_eq!(Lang::of(None, &headers), Lang::Sv);
        assert_eq!(Lang::of(Some("page=2&lang=en"), &headers), Lang::En);
        assert_eq!(Lang::of(Some("lang=fr"), &headers), Lang::Sv);
    }

    #[test]
    fn every_label_a_page_asks_for_is_in_the_table() {
        let sources = [
            include_str!("layout.rs"),
            include_str!("login.rs"),
            include_str!("needs.rs"),
            include_str!("need.rs"),
            include_str!("dead_letters.rs"),
        ];
        let mut asked = 0;
        for source in sources {
            for (at, _) in source.match_indices(".t(\"") {
                let rest = &source[at + 4..];
                let key = &rest[..rest.find('"').expect("closing quote")];
                assert!(LABELS.iter().any(|(k, _, _)| *k == key), "{key}");
                asked += 1;
            }
        }
        assert!(asked > 40, "{asked}");
    }

    #[test]
    fn keys_are_unique_and_translated() {
        for (i, (key, sv, en)) in LABELS.iter().enumerate() {
            assert!(!sv.is_empty() && !en.is_empty(), "{key}");
            assert!(LABELS[..i].iter().all(|(k, _, _)| k != key), "{key} twice");
        }
    }
}
