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

/// Writes `bytes` to `dir/name` through a temporary file in the same directory and a
/// rename, so that an interrupted run never leaves a half-written file.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." || name.is_empty() {
        return Err(Error::output_refused(format!(
            "refusing unsafe file name {name:?}"
        )));
    }
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::output_to(target.display(), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
