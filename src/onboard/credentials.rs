//! Who the management client authenticates as: the user in `amqp.management_url`, or when it
//! names none, the hub's own administrative user in `amqp.url`.
//!
//! Credentials never travel in the URL: they are taken out of it here and sent as basic auth,
//! so no error message or log line that names the management URL can show them.

use std::fmt;

use lapin::uri::AMQPUri;
use percent_encoding::percent_decode_str;
use url::Url;

/// A management user and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, ***)", self.user)
    }
}

impl Credentials {
    /// The user info of `base` (which is left without any), else `amqp_url`'s; `None` when
    /// neither names a user.
    pub(super) fn take(base: &mut Url, amqp_url: &str) -> Option<Self> {
        let credentials = if base.username().is_empty() {
            let uri: AMQPUri = amqp_url.parse().ok()?;
            Self {
                user: uri.authority.userinfo.username,
                password: uri.authority.userinfo.password,
            }
        } else {
            Self {
                user: decode(base.username()),
                password: decode(base.password().unwrap_or_default()),
            }
        };
        // Removing user info from a URL with a host cannot fail.
        let _ = base.set_username("");
        let _ = base.set_password(None);
        Some(credentials).filter(|c| !c.user.is_empty())
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}
