//! `[retention]`: how long the hub keeps sent outbox rows, inbox rows, audit entries and
//! organisations' feed events before its pruning task deletes them (`src/store/retention.rs` says why each default is what it is).

use std::time::Duration;

use serde::Deserialize;

use super::error::SettingsError;

/// The shortest inbox retention accepted: far longer than any redelivery or re-send window, or
/// a late duplicate of an event would be processed twice.
pub const MIN_INBOX_DAYS: u32 = 7;

/// `[retention]`: days to keep each kind of row; 0 keeps it for ever.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Outbox rows the broker confirmed, counted from the confirm.
    pub outbox_sent_days: u32,
    /// Inbox (idempotency) rows, counted from receipt; 0 or at least [`MIN_INBOX_DAYS`].
    pub inbox_days: u32,
    /// Audit trail entries.
    pub audit_days: u32,
    /// Organisations' feed events (`GET /v1/feed`), counted from when they were appended.
    pub feed_days: u32,
    /// How often the hub prunes, in seconds (it also prunes once at start). At least 1.
    pub interval_secs: u64,
    /// Rows deleted per statement, so that pruning never holds locks for long. At least 1.
    pub batch_rows: u32,
}

impl RetentionSettings {
    /// How often the hub prunes.
    #[must_use]
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.inbox_days != 0 && self.inbox_days < MIN_INBOX_DAYS {
            return Err(SettingsError::value(
                "retention.inbox_days",
                format!(
                    "must be 0 (keep for ever) or at least {MIN_INBOX_DAYS}: inbox rows are \
                     what keeps a redelivered event from being processed twice"
                ),
            ));
        }
        if self.interval_secs == 0 || self.batch_rows == 0 {
            return Err(SettingsError::value(
                "retention",
                "interval_secs and batch_rows must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retention() -> RetentionSettings {
        RetentionSettings {
            outbox_sent_days: 7,
            inbox_days: 30,
            audit_days: 0,
            feed_days: 30,
            interval_secs: 3600,
            batch_rows: 1000,
        }
    }

    #[test]
    fn days_become_durations_and_zero_keeps_for_ever() {
        let r = crate::store::Retention::from_settings(&retention());
        assert_eq!(r.outbox_sent, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(r.inbox, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(r.audit, None);
        assert_eq!(r.feed, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(r.batch, 1000);
        assert!(retention().validate().is_ok());
    }

    #[test]
    fn an_inbox_retention_shorter_than_a_week_is_refused() {
        let short = RetentionSettings {
            inbox_days: 1,
            ..retention()
        };
        let err = short.validate().expect_err("one day");
        assert!(err.to_string().contains("retention.inbox_days"), "{err}");
        let never = RetentionSettings {
            inbox_days: 0,
            ..retention()
        };
        assert!(never.validate().is_ok());
    }
}
