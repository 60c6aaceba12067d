//! Writing one file per subject under `--out-dir`: file names that are safe (no path
//! separators, no `..`), stable for the same subjects, and distinct even when two subjects
//! sanitize alike; files written atomically (temporary file, then rename).

use crate::error::{Error, Result};
use crate::generate::names::short_hash;
use crate::request::split_service_account;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The longest file-name stem before the hash suffix.
const MAX_STEM: usize = 180;

/// The file stem for one subject, and whether it loses information (case, characters,
/// length), in which case a hash of the subject is appended.
fn stem(subject: &str) -> (String, bool) {
    let (prefix, body) = match split_service_account(subject) {
        Some((ns, name)) => ("serviceaccount-", format!("{ns}-{name}")),
        None => ("user-", subject.to_string()),
    };
    let mut cleaned: String = body
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut lossy = cleaned != body;
    if cleaned.len() > MAX_STEM {
        cleaned.truncate(MAX_STEM);
        lossy = true;
    }
    (format!("{prefix}{cleaned}"), lossy)
}

/// File names (`user-alice.yaml`, `serviceaccount-ops-reconciler.yaml`) for `subjects`.
/// Lossy names always carry a hash of the subject, so a name never depends on which other
/// subjects there are; the one exception is two service accounts whose `NS-NAME` reads
/// alike (`a-b:c`, `a:b-c`), which then both carry a hash.
pub fn file_names(subjects: &[&str]) -> BTreeMap<String, String> {
    let stems: Vec<(String, bool)> = subjects.iter().map(|s| stem(s)).collect();
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, lossy) in &stems {
        if !lossy {
            *uses.entry(s.as_str()).or_default() += 1;
        }
    }
    subjects
        .iter()
        .zip(&stems)
        .map(|(subject, (s, lossy))| {
            let name = if *lossy || uses.get(s.as_str()).copied().unwrap_or(0) > 1 {
                format!("{s}-{}.yaml", short_hash(subject))
            } else {
                format!("{s}.yaml")
            };
            (subject.to_string(), name)
        })
        .collect()
}

/// Writes `bytes` to `dir/name` through a temporary file in the same directory, synced
/// before it is renamed over the target, so that an interrupted run never leaves a
/// half-written file. The temporary file is created exclusively under an unpredictable
/// name, so a link planted in the directory is never followed; it is removed on failure.
/// The rename is durable once [`sync_dir`] has run for `dir`.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." || name.is_empty() {
        return Err(Error::output_refused(format!(
            "refusing unsafe file name {name:?}"
        )));
    }
    let target = dir.join(name);
    let result = (|| {
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&target).map_err(|e| e.error)?;
        Ok(())
    })();
    result.map_err(|e: std::io::Error| Error::output_to(target.display(), e))
}

/// Makes the renames into `dir` durable (fsync of the directory), once for many files.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::output_to(dir.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // Links at every name an older release would have used.
        for pid in [std::process::id(), 1, 2] {
            let _ =
                std::os::unix::fs::symlink(&victim, dir.path().join(format!(".a.yaml.tmp-{pid}")));
        }
        write_atomic(dir.path(), "a.yaml", b"new").unwrap();
        sync_dir(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.yaml")).unwrap(),
            "new"
        );
        assert!(!std::fs::symlink_metadata(dir.path().join("a.yaml"))
            .unwrap()
            .file_type()
            .is_symlink());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails.
        std::fs::create_dir(dir.path().join("a.yaml")).unwrap();
        std::fs::write(dir.path().join("a.yaml/x"), "x").unwrap();
        assert!(write_atomic(dir.path(), "a.yaml", b"new").is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.yaml"]);
    }

    #[test]
    fn names_are_safe_stable_and_distinct() {
        let subjects = [
            "alice",
            "system:serviceaccount:ops:reconciler",
            "Alice",
            "../../etc/passwd",
            "a/b",
            "a-b",
            "system:serviceaccount:a-b:c",
            "system:serviceaccount:a:b-c",
        ];
        let names = file_names(&subjects);
        assert_eq!(names["alice"], "user-alice.yaml");
        assert_eq!(
            names["system:serviceaccount:ops:reconciler"],
            "serviceaccount-ops-reconciler.yaml"
        );
        assert_eq!(names["a-b"], "user-a-b.yaml");
        let all: std::collections::BTreeSet<&String> = names.values().collect();
        assert_eq!(all.len(), subjects.len(), "{names:?}");
        for n in names.values() {
            assert!(
                !n.contains('/') && !n.starts_with('.') && n.len() < 255,
                "{n}"
            );
        }
        assert_ne!(
            names["system:serviceaccount:a-b:c"],
            names["system:serviceaccount:a:b-c"]
        );
        assert_eq!(file_names(&subjects), names, "stable");
    }
}
