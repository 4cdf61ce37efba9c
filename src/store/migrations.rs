//! The schema migrations, embedded at compile time, one folder per dialect with the same
//! tables in both, run on every connect (sqlx records which ran, with each file's checksum).
//!
//! A migration that has been released never changes: a database that ran it compares its
//! checksum on every start and refuses a file that differs. The one exception is a comment,
//! which changes nothing a database holds: the first migration's opening comment once pointed
//! at a design note outside the repository and now describes the schema itself. Its checksum
//! is pinned to the released file's, so stores created before the edit keep starting; a test
//! fails if anything but comments changes in a pinned file.

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, SqlSafeStr};

use super::connect::{Backend, Target};
use super::error::StoreError;

/// The migrations, embedded at compile time: one folder per dialect, the same tables in both.
/// Adding a migration means adding its file to both folders and a line to each list here (a
/// unit test checks the lists against the folders).
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "store",
        include_str!("../../migrations/sqlite/0001_store.sql"),
    ),
    (
        2,
        "reference",
        include_str!("../../migrations/sqlite/0002_reference.sql"),
    ),
    (
        3,
        "outbox_claim",
        include_str!("../../migrations/sqlite/0003_outbox_claim.sql"),
    ),
    (
        4,
        "reference_compaction",
        include_str!("../../migrations/sqlite/0004_reference_compaction.sql"),
    ),
    (
        5,
        "outbox_retry",
        include_str!("../../migrations/sqlite/0005_outbox_retry.sql"),
    ),
    (
        6,
        "need_scope",
        include_str!("../../migrations/sqlite/0006_need_scope.sql"),
    ),
    (
        7,
        "outbox_claim_token",
        include_str!("../../migrations/sqlite/0007_outbox_claim_token.sql"),
    ),
    (
        8,
        "outbox_amqp_properties",
        include_str!("../../migrations/sqlite/0008_outbox_amqp_properties.sql"),
    ),
    (
        9,
        "api_tokens",
        include_str!("../../migrations/sqlite/0009_api_tokens.sql"),
    ),
    (
        10,
        "org_feed",
        include_str!("../../migrations/sqlite/0010_org_feed.sql"),
    ),
    (
        11,
        "webhooks",
        include_str!("../../migrations/sqlite/0011_webhooks.sql"),
    ),
    (
        12,
        "feed_body_once",
        include_str!("../../migrations/sqlite/0012_feed_body_once.sql"),
    ),
    (
        13,
        "needs_listing",
        include_str!("../../migrations/sqlite/0013_needs_listing.sql"),
    ),
    (
        14,
        "outbox_body_lz4",
        include_str!("../../migrations/sqlite/0014_outbox_body_lz4.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "store",
        include_str!("../../migrations/postgres/0001_store.sql"),
    ),
    (
        2,
        "reference",
        include_str!("../../migrations/postgres/0002_reference.sql"),
    ),
    (
        3,
        "outbox_claim",
        include_str!("../../migrations/postgres/0003_outbox_claim.sql"),
    ),
    (
        4,
        "reference_compaction",
        include_str!("../../migrations/postgres/0004_reference_compaction.sql"),
    ),
    (
        5,
        "outbox_retry",
        include_str!("../../migrations/postgres/0005_outbox_retry.sql"),
    ),
    (
        6,
        "need_scope",
        include_str!("../../migrations/postgres/0006_need_scope.sql"),
    ),
    (
        7,
        "outbox_claim_token",
        include_str!("../../migrations/postgres/0007_outbox_claim_token.sql"),
    ),
    (
        8,
        "outbox_amqp_properties",
        include_str!("../../migrations/postgres/0008_outbox_amqp_properties.sql"),
    ),
    (
        9,
        "api_tokens",
        include_str!("../../migrations/postgres/0009_api_tokens.sql"),
    ),
    (
        10,
        "org_feed",
        include_str!("../../migrations/postgres/0010_org_feed.sql"),
    ),
    (
        11,
        "webhooks",
        include_str!("../../migrations/postgres/0011_webhooks.sql"),
    ),
    (
        12,
        "feed_body_once",
        include_str!("../../migrations/postgres/0012_feed_body_once.sql"),
    ),
    (
        13,
        "needs_listing",
        include_str!("../../migrations/postgres/0013_needs_listing.sql"),
    ),
    (
        14,
        "outbox_body_lz4",
        include_str!("../../migrations/postgres/0014_outbox_body_lz4.sql"),
    ),
];

/// SHA-384 of the released `0001_store.sql` files, which sqlx recorded in every store created
/// before their opening comment was reworded (see the module docs).
const PINNED: [(Backend, i64, &str); 2] = [
    (
        Backend::Sqlite,
        1,
        "c12e00a346efe66a1589f5d5d619e76054981ffe23d72fd19af29491d8c241e53f69ff8bc8edc834d4c5dbecd635513c",
    ),
    (
        Backend::Postgres,
        1,
        "175086721d5d156cc84272fde632ed213622bd81672212f71a0e8f888bc67d35a67923acea4e5707ed8898007df6d977",
    ),
];

/// The recorded checksum of a migration whose file has had only comments reworded.
fn pinned(backend: Backend, version: i64) -> Option<Vec<u8>> {
    PINNED
        .iter()
        .find(|(b, v, _)| *b == backend && *v == version)
        .map(|(_, _, hex)| decode_hex(hex))
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The migrations the hub runs on `backend`'s stores, in order, with the checksums it records.
#[must_use]
pub fn migrator(backend: Backend) -> Migrator {
    let list = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    let migrations = list
        .iter()
        .map(|&(version, description, sql)| {
            let mut migration = Migration::new(
                version,
                description.into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            );
            if let Some(checksum) = pinned(backend, version) {
                migration.checksum = checksum.into();
            }
            migration
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// Run every migration `target` has not run yet.
pub(super) async fn migrate(target: &Target, conn: &mut AnyConnection) -> Result<(), StoreError> {
    migrator(target.backend)
        .run(conn)
        .await
        .map_err(|source| StoreError::Migrate {
            url: target.redacted.clone(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha384};

    use super::*;

    #[test]
    fn every_migration_file_is_embedded_for_both_dialects() {
        for (folder, list) in [
            ("sqlite", SQLITE_MIGRATIONS),
            ("postgres", POSTGRES_MIGRATIONS),
        ] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(folder);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .expect("migrations folder")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            let embedded: Vec<String> = list
                .iter()
                .map(|(version, description, _)| format!("{version:04}_{description}.sql"))
                .collect();
            assert_eq!(files, embedded, "{folder}");
        }
    }

    /// The statements of the pinned files, comments and blank lines left out, as they were
    /// released: if this fails, a released migration's SQL changed — add a new migration
    /// instead.
    #[test]
    fn pinned_migrations_changed_only_in_their_comments() {
        let statements = |sql: &str| {
            let kept: Vec<&str> = sql
                .lines()
                .filter(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
                .collect();
            format!("{:x}", Sha384::digest(kept.join("\n").as_bytes()))
        };
        assert_eq!(
            statements(SQLITE_MIGRATIONS[0].2),
            "41bda01fa31796402d93bcba2a38e705886b42b819d6fb0f66b964ea678050106c9fecabdbb43b735914b348466e3f49"
        );
        assert_eq!(
            statements(POSTGRES_MIGRATIONS[0].2),
            "1abd84aebaa1b5efce72b8e602316827250044bdad30769fa53fb9f3d49c9210ed2ceea6a2560bc067086c8183df4c7c"
        );
        for (backend, version, _) in PINNED {
            assert_eq!(pinned(backend, version).map(|c| c.len()), Some(48));
        }
    }
}
