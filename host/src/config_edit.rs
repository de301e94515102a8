//! Changes to config.toml made by minutes itself (the app's settings and offline switch): the
//! file is edited in place, so the user's comments, order and other settings stay as written,
//! and replaced in one rename, so a crash leaves the old file or the new one.

use crate::plugins::Home;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigEditError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML ({message}); fix it by hand first, nothing was changed")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `{key}` is not a table; fix it by hand first, nothing was changed")]
    NotATable { path: PathBuf, key: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A change to one key: `table` is `None` for a top-level key; `value` `None` removes it.
pub struct Edit<'a> {
    pub table: Option<&'a str>,
    pub key: &'a str,
    pub value: Option<toml_edit::Item>,
}

impl<'a> Edit<'a> {
    pub fn set(table: Option<&'a str>, key: &'a str, value: impl Into<toml_edit::Value>) -> Self {
        Edit {
            table,
            key,
            value: Some(toml_edit::Item::Value(value.into())),
        }
    }

    pub fn remove(table: Option<&'a str>, key: &'a str) -> Self {
        Edit {
            table,
            key,
            value: None,
        }
    }
}

/// Applies `edits` to the home's config.toml (created 0600 if missing).
pub fn apply(home: &Home, edits: &[Edit<'_>]) -> Result<(), ConfigEditError> {
    let path = home.config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(ConfigEditError::Read { path, source }),
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigEditError::Parse {
                path: path.clone(),
                message: e.message().to_string(),
            })?;
    // A file of comments only keeps them at its top (toml_edit holds them as trailing text,
    // which new tables would be written above).
    let lead = match doc.as_table().is_empty() {
        true => doc.trailing().as_str().unwrap_or("").to_string(),
        false => String::new(),
    };
    if !lead.is_empty() {
        doc.set_trailing("");
    }
    for edit in edits {
        let table = match edit.table {
            None => doc.as_table_mut(),
            Some(name) => {
                let item = doc.entry(name).or_insert(toml_edit::table());
                item.as_table_mut()
                    .ok_or_else(|| ConfigEditError::NotATable {
                        path: path.clone(),
                        key: name.to_string(),
                    })?
            }
        };
        match &edit.value {
            Some(v) => {
                table.insert(edit.key, v.clone());
            }
            None => {
                table.remove(edit.key);
            }
        }
    }
    let write = |source| ConfigEditError::Write {
        path: path.clone(),
        source,
    };
    crate::fsperm::create_private_dir(home.root()).map_err(write)?;
    let temp = path.with_extension("toml.new");
    std::fs::write(&temp, lead + &doc.to_string()).map_err(write)?;
    crate::fsperm::restrict(&temp).map_err(write)?;
    std::fs::rename(&temp, &path).map_err(write)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_comments_and_other_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::at(dir.path());
        std::fs::write(
            home.config_path(),
            "# mine\n[summary]\nprovider = \"ollama\" # local\n\n[policy]\nforbid_training = true\n",
        )
        .expect("write");
        apply(
            &home,
            &[
                Edit::set(None, "offline", true),
                Edit::set(Some("summary"), "template", "standard"),
                Edit::remove(Some("summary"), "provider"),
                Edit::set(Some("transcribe"), "model", "base.en-q5_1"),
            ],
        )
        .expect("apply");
        let text = std::fs::read_to_string(home.config_path()).expect("read");
        let table: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(table["offline"].as_bool(), Some(true));
        assert_eq!(table["summary"]["template"].as_str(), Some("standard"));
        assert!(table["summary"].get("provider").is_none());
        assert_eq!(table["transcribe"]["model"].as_str(), Some("base.en-q5_1"));
        assert_eq!(table["policy"]["forbid_training"].as_bool(), Some(true));
        assert!(text.contains("# mine"), "{text}");
    }

    #[test]
    fn a_file_of_comments_keeps_them_on_top() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::at(dir.path());
        std::fs::write(home.config_path(), "# my settings\n").expect("write");
        apply(&home, &[Edit::set(Some("transcribe"), "language", "de")]).expect("apply");
        let text = std::fs::read_to_string(home.config_path()).expect("read");
        assert!(text.starts_with("# my settings\n"), "{text}");
        assert!(text.contains("[transcribe]"), "{text}");
    }

    #[test]
    fn broken_toml_is_left_alone_and_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::at(dir.path());
        std::fs::write(home.config_path(), "offline = \n").expect("write");
        let err = apply(&home, &[Edit::set(None, "offline", true)]).unwrap_err();
        assert!(err.to_string().contains("config.toml"), "{err}");
        assert_eq!(
            std::fs::read_to_string(home.config_path()).expect("read"),
            "offline = \n"
        );
    }
}
