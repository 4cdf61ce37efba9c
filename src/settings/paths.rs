//! Relative paths in a configuration file are relative to that file's directory.
//!
//! A deployment keeps its catalogue files next to its configuration, and `samverkan --config
//! /etc/samverkan/hub.toml run` must find them whatever directory the process was started in
//! (a service manager's, a test runner's). Paths that come from the environment or the
//! defaults have no file to be relative to, so they stay relative to the working directory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use config::{Config, File, FileFormat};

use super::CatalogueSettings;

/// Rewrite the relative catalogue paths of `catalogue` that `file` sets so that they are
/// relative to `file`'s directory. A path the file does not set (an environment override) is
/// left alone.
pub(super) fn resolve_against(file: &Path, catalogue: &mut CatalogueSettings) {
    let from_file = paths_in(file);
    let dir = file.parent().unwrap_or_else(|| Path::new(""));
    let resolve = |path: &mut PathBuf| {
        if path.is_relative() && from_file.contains(path.as_path()) {
            *path = dir.join(&*path);
        }
    };
    catalogue
        .courses
        .iter_mut()
        .for_each(|c| resolve(&mut c.path));
    catalogue.partner_registries.iter_mut().for_each(resolve);
}

/// The catalogue paths the file itself sets (none when it sets no `[catalogue]`).
fn paths_in(file: &Path) -> HashSet<PathBuf> {
    let catalogue = Config::builder()
        .add_source(File::from(file).format(FileFormat::Toml).required(true))
        .build()
        .and_then(|c| c.get::<CatalogueSettings>("catalogue"))
        .unwrap_or_default();
    let courses = catalogue.courses.into_iter().map(|c| c.path);
    courses.chain(catalogue.partner_registries).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::load_from;

    #[test]
    fn relative_catalogue_paths_in_a_file_are_relative_to_its_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("conf");
        std::fs::create_dir(&conf).expect("mkdir");
        let file = conf.join("hub.toml");
        std::fs::write(
            &file,
            "[[organisations]]\nid = \"mdu\"\nkind = \"university\"\nbroker_user = \"mdu\"\n\
             display_name = \"MDU\"\n\n[catalogue]\npartner_registries = [\"reg.json\", \
             \"/abs/reg.json\"]\n\n[[catalogue.courses]]\norg = \"mdu\"\npath = \"../c.json\"\n",
        )
        .expect("write");
        let s = load_from(Some(&file), HashMap::new()).expect("loads");
        assert_eq!(s.catalogue.courses[0].path, conf.join("../c.json"));
        assert_eq!(
            s.catalogue.partner_registries,
            [conf.join("reg.json"), "/abs/reg.json".into()]
        );
    }
}
