//! Why the settings could not be loaded, worded for the operator who has to fix them.

use std::path::PathBuf;

/// A configuration that cannot be used. Every message names the file or key to fix; none
/// contains a secret (URLs are shown redacted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The `--config` file does not exist.
    #[error("configuration file {} not found: check the --config argument", path.display())]
    FileNotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The `--config` file exists but cannot be read.
    #[error("configuration file {} cannot be read: {source}", path.display())]
    FileUnreadable {
        /// The path as given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML.
    #[error("configuration file {} is not valid TOML: {detail}", path.display())]
    FileMalformed {
        /// The path as given.
        path: PathBuf,
        /// The parser's message, with line and column.
        detail: String,
    },
    /// The embedded `config/default.toml` does not parse: a build defect, not an operator error.
    #[error("the built-in defaults (config/default.toml) are invalid: {detail}")]
    Defaults {
        /// The parser's message.
        detail: String,
    },
    /// A key is unknown, missing or of the wrong type in one of the layers.
    #[error("invalid configuration (layers: {layers}): {detail}")]
    Invalid {
        /// The layers that were read, in order.
        layers: String,
        /// What is wrong, naming the key (and, where known, the layer it came from).
        detail: String,
    },
    /// A key has a value outside its allowed range.
    #[error("invalid value for `{key}`: {message}")]
    InvalidValue {
        /// The dotted key, e.g. `amqp.prefetch`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Two organisations have the same id.
    #[error(
        "organisation id `{id}` is used twice (organisations[{first}] and \
         organisations[{second}]): ids must be unique"
    )]
    DuplicateOrgId {
        /// The repeated id.
        id: String,
        /// Index of the first organisation with it.
        first: usize,
        /// Index of the second.
        second: usize,
    },
    /// Two organisations connect as the same broker user.
    #[error(
        "broker user `{user}` is configured for both `{first}` and `{second}`: a broker user \
         identifies exactly one organisation"
    )]
    DuplicateBrokerUser {
        /// The repeated broker user.
        user: String,
        /// Id of the first organisation with it.
        first: String,
        /// Id of the second.
        second: String,
    },
    /// An organisationsnummer fails the format or Luhn check.
    #[error(
        "organisations[{index}] (`{id}`): organisationsnummer {value:?} is invalid: expected \
         NNNNNN-NNNN (or ten digits) with third digit >= 2 and a valid Luhn check digit"
    )]
    InvalidOrganisationsnummer {
        /// Index in `organisations`.
        index: usize,
        /// The organisation's id.
        id: String,
        /// The value as configured.
        value: String,
    },
}

impl SettingsError {
    pub(super) fn value(key: &str, message: impl Into<String>) -> Self {
        Self::InvalidValue {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}
