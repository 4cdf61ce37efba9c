//! Browser tests: the console as a person uses it, in headless Chromium (issue 14).
//!
//! Few and robust on purpose (they run in CI on every push): each starts a hub with console
//! users, a ChromeDriver and a fresh browser profile, clicks through one story and waits on
//! conditions (an element present, a text equal) with a deadline, never on time. The selectors
//! are the console's DOM contract (README "Console"); Chromium and ChromeDriver are Debian's
//! packages, which scripts/test installs when missing; without them these tests fail and say
//! how to install them.

mod coach;
mod driver;
mod hub;
mod language;
mod operator;
mod screenshots;
