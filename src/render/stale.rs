//! Files an earlier `--out-dir` run left for subjects this run did not write: stale, since
//! `kubectl apply -f DIR` would still apply them. The earlier run's `summary.json` says which
//! files this tool wrote (its subjects' `file`, and the `staleFiles` it kept); those that
//! this run did not write again are stale: listed in a warning, recorded in the new
//! `summary.json` as `staleFiles` (so the next run still knows them), or removed with
//! `--prune`. Only plain `.yaml`/`.json` file names directly in DIR are ever considered, so
//! a `summary.json` edited by hand cannot point elsewhere.

use crate::error::{Error, Result};
use crate::generate::SubjectOutput;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::render::outdir::SUMMARY;

/// Whether a subject gets a file under `--out-dir`: not when everything it did is already
/// allowed (its `summary.json` entry says so instead; see [`NO_FILE_REASON`]).
pub fn gets_file(output: &SubjectOutput<'_>) -> bool {
    !output.generated.rbac.is_empty()
}

/// Why a subject has no file, in `summary.json`'s `noFile`.
pub const NO_FILE_REASON: &str = "everything it did is already allowed: nothing to grant";

/// What an earlier run wrote into the directory, read before this run writes.
#[derive(Clone, Debug, Default)]
pub struct PreviousRun {
    /// File names the earlier run wrote or already knew as stale.
    files: BTreeSet<String>,
}

/// Whether `name` may be a file this tool wrote: a plain name, `.yaml` or `.json`.
fn is_ours(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\\'])
        && !name.starts_with('.')
        && name != SUMMARY
        && (name.ends_with(".yaml") || name.ends_with(".json"))
}

impl PreviousRun {
    /// The earlier run's files, from `dir/summary.json`; none when there is no such file
    /// or it cannot be read as one.
    pub fn read(dir: &Path) -> PreviousRun {
        let Ok(text) = std::fs::read_to_string(dir.join(SUMMARY)) else {
            return PreviousRun::default();
        };
        let Ok(summary) = serde_json::from_str::<serde_json::Value>(&text) else {
            return PreviousRun::default();
        };
        let written = summary["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["file"].as_str());
        let kept = summary["staleFiles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str());
        PreviousRun {
            files: written
                .chain(kept)
                .filter(|n| is_ours(n))
                .map(String::from)
                .collect(),
        }
    }

    /// The earlier files this run did not write (`written`: subject → file name) that are
    /// still regular files in `dir`, sorted.
    pub fn stale(&self, dir: &Path, written: &BTreeMap<String, String>) -> Vec<String> {
        let now: BTreeSet<&str> = written.values().map(String::as_str).collect();
        self.files
            .iter()
            .filter(|f| !now.contains(f.as_str()))
            .filter(|f| {
                std::fs::symlink_metadata(dir.join(f)).is_ok_and(|m| m.file_type().is_file())
            })
            .cloned()
            .collect()
    }
}

/// What [`settle`] did with the stale files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Stale files left in place (recorded in summary.json).
    pub kept: Vec<String>,
    /// Stale files removed (`--prune`).
    pub removed: Vec<String>,
}

/// After this run wrote `written` (subject → file) into `dir`, and before it writes its
/// `summary.json`: removes the stale files when `prune`; otherwise they are kept, and
/// the new summary lists them as `staleFiles` (`render::generated::summary_json`).
pub fn settle(
    dir: &Path,
    previous: &PreviousRun,
    written: &BTreeMap<String, String>,
    prune: bool,
) -> Result<Settled> {
    let stale = previous.stale(dir, written);
    if !prune {
        return Ok(Settled {
            kept: stale,
            removed: Vec::new(),
        });
    }
    for name in &stale {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(|e| Error::output_to(path.display(), e))?;
    }
    Ok(Settled {
        kept: Vec::new(),
        removed: stale,
    })
}

/// The stderr lines that say what [`settle`] did in `dir`.
pub fn messages(dir: &Path, settled: &Settled) -> Vec<String> {
    let dir = dir.display();
    let mut lines = Vec::new();
    if !settled.kept.is_empty() {
        lines.push(format!(
            "warning: {dir}: {} from an earlier run {} for subjects this run did not write (kubectl apply -f {dir} would still apply {}); --prune removes them:",
            crate::render::words::plural(settled.kept.len() as u64, "file"),
            if settled.kept.len() == 1 { "is" } else { "are" },
            if settled.kept.len() == 1 { "it" } else { "them" },
        ));
        lines.extend(settled.kept.iter().map(|f| format!("  {f}")));
    }
    if !settled.removed.is_empty() {
        lines.push(format!(
            "{dir}: removed {} from an earlier run (--prune):",
            crate::render::words::plural(settled.removed.len() as u64, "stale file")
        ));
        lines.extend(settled.removed.iter().map(|f| format!("  {f}")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_yaml_and_json_names_are_ours() {
        assert!(is_ours("user-alice.yaml"));
        assert!(is_ours("serviceaccount-ops-x.json"));
        for name in [
            "",
            "summary.json",
            "../x.yaml",
            "a/b.yaml",
            ".user-a.yaml.123.tmp",
            "notes.txt",
        ] {
            assert!(!is_ours(name), "{name:?}");
        }
    }
}
