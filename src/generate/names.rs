//! Names and labels of generated objects: the `--generate-name` template, label values
//! naming the subject, and `k=v` lists, all made valid for the API server (semantics.md §3.4).

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Default `--generate-name` template.
pub const DEFAULT_NAME_TEMPLATE: &str = "audit2role:{subject}";
/// Default `--generate-labels`.
pub const DEFAULT_LABELS: &str =
    "app.kubernetes.io/managed-by=audit2role,audit2role/subject={subject}";

/// A short stable hash (FNV-1a, 64 bit) as 8 hex digits, to keep shortened names distinct.
pub fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{:08x}", h >> 32)
}

/// The subject as it appears in object names: lower case, every character outside
/// `[a-z0-9:]` replaced by `-` (audit2rbac's convention).
pub fn name_part(subject: &str) -> String {
    subject
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The subject as a label value: lower case `[a-z0-9-]`, alphanumeric at both ends, at most
/// 63 characters (longer ones keep a prefix and a hash of the whole subject).
pub fn label_value(subject: &str) -> String {
    let cleaned: String = subject
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    let value = if trimmed.len() > 63 {
        let head = trimmed[..54].trim_end_matches('-');
        format!("{head}-{}", short_hash(subject))
    } else {
        trimmed.to_string()
    };
    if value.is_empty() {
        format!("x{}", short_hash(subject))
    } else {
        value
    }
}

/// `template` with `{subject}` and `${user}` replaced by `value`, and `${version}` by this
/// tool's version (as audit2rbac does in its default annotation).
fn substitute(template: &str, value: &str) -> String {
    template
        .replace("{subject}", value)
        .replace("${user}", value)
        .replace("${version}", env!("CARGO_PKG_VERSION"))
}

/// Whether `part` ends like the hash suffix of [`subject_part`] (`-` and 8 hex digits).
fn ends_like_hash(part: &str) -> bool {
    let b = part.as_bytes();
    b.len() > 9
        && b[b.len() - 9] == b'-'
        && b[b.len() - 8..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// The subject as it appears in object names: [`name_part`], and when that loses
/// information (`Alice`, `a.b`, `a_b` all read `alice`/`a-b`) a hash of the whole subject
/// after it, so that distinct subjects get distinct names, stable across runs. A subject
/// whose own name ends like such a hash gets one too, so no name can pass for another's.
pub fn subject_part(subject: &str) -> String {
    let part = name_part(subject);
    if part == subject && !ends_like_hash(&part) {
        part
    } else {
        format!("{part}-{}", short_hash(subject))
    }
}

/// Object name from the template: valid as a path segment (no `/` or `%`, not `.` or `..`),
/// at most 253 characters, distinct for distinct subjects (see [`subject_part`]).
pub fn object_name(template: &str, subject: &str) -> String {
    let raw = substitute(template, &subject_part(subject));
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c == '/' || c == '%' || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect();
    if name.len() > 253 {
        let mut cut = 244;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}-{}", &name[..cut], short_hash(&raw));
    }
    if name.is_empty() || name == "." || name == ".." {
        name = format!("audit2role-{}", short_hash(subject));
    }
    name
}

/// Checks a label key: optional DNS-subdomain prefix and `/`, then a name of at most 63
/// `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if !crate::request::is_dns_subdomain(p) {
            return false;
        }
    }
    !name.is_empty() && valid_label_value(name)
}

/// Checks a label value: empty, or at most 63 `[A-Za-z0-9._-]` with alphanumeric ends.
pub fn valid_label_value(v: &str) -> bool {
    let b = v.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// What a `k=v` list sets on the generated objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairs {
    /// Label values are validated (the subject substituted as a label value) and may not
    /// feed the built-in aggregated roles.
    Labels,
    /// Annotation values are free text (the subject substituted as it is).
    Annotations,
}

/// Parses `k=v,k2=v2` (`k` alone → empty value), substituting `{subject}` / `${user}`.
/// Keys are validated; labels as [`Pairs::Labels`] says.
pub fn parse_pairs(
    list: &str,
    subject: &str,
    kind: Pairs,
    flag: &str,
) -> Result<BTreeMap<String, String>> {
    let labels = kind == Pairs::Labels;
    let mut out = BTreeMap::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let value = if labels {
            substitute(v, &label_value(subject))
        } else {
            substitute(v, subject)
        };
        if labels {
            if !valid_label_key(k) {
                return Err(Error::Usage(format!("{flag}: invalid label key {k:?}")));
            }
            if !valid_label_value(&value) {
                return Err(Error::Usage(format!(
                    "{flag}: invalid label value {value:?} for {k:?} (at most 63 of [A-Za-z0-9._-], alphanumeric ends)"
                )));
            }
            if k.starts_with("rbac.authorization.k8s.io/aggregate-to-") {
                return Err(Error::Usage(format!(
                    "{flag}: label {k:?} would add the generated rules to a built-in aggregated role for everyone bound to it"
                )));
            }
        } else if !valid_label_key(k) {
            return Err(Error::Usage(format!(
                "{flag}: invalid annotation key {k:?}"
            )));
        }
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_audit2rbac_convention_with_a_hash_where_it_is_lossy() {
        assert_eq!(
            object_name("audit2rbac:${user}", "alice@example.com"),
            format!(
                "audit2rbac:alice-example-com-{}",
                short_hash("alice@example.com")
            )
        );
        assert_eq!(
            object_name("audit2rbac:${user}", "Bob_Smith"),
            format!("audit2rbac:bob-smith-{}", short_hash("Bob_Smith"))
        );
        assert_eq!(
            object_name("audit2rbac:${user}", "bob-smith"),
            "audit2rbac:bob-smith"
        );
        assert_eq!(
            object_name(DEFAULT_NAME_TEMPLATE, "system:serviceaccount:ns1:sa1"),
            "audit2role:system:serviceaccount:ns1:sa1"
        );
        assert_eq!(
            label_value("system:serviceaccount:ns1:sa1"),
            "system-serviceaccount-ns1-sa1"
        );
        assert_eq!(label_value("alice@example.com"), "alice-example-com");
    }

    #[test]
    fn subjects_that_sanitize_alike_get_distinct_stable_names() {
        let cases: &[&[&str]] = &[
            &["Alice", "alice", "ALICE"],
            &["a.b", "a_b", "a-b", "a b"],
            &[
                "system:serviceaccount:ns:my.sa",
                "system:serviceaccount:ns:my-sa",
                "system:serviceaccount:ns:my_sa",
            ],
        ];
        for subjects in cases {
            for template in [DEFAULT_NAME_TEMPLATE, "custom-{subject}", "x:${user}"] {
                let names: std::collections::BTreeSet<String> =
                    subjects.iter().map(|s| object_name(template, s)).collect();
                assert_eq!(names.len(), subjects.len(), "{template} {subjects:?}");
                for s in subjects.iter() {
                    assert_eq!(object_name(template, s), object_name(template, s));
                }
            }
        }
        // A name that looks like another's hashed name is hashed itself.
        let hashed = subject_part("Alice");
        assert_ne!(subject_part(&hashed), hashed);
        assert_eq!(subject_part("alice"), "alice");
    }

    #[test]
    fn long_and_odd_subjects_stay_valid() {
        let long = "x".repeat(400);
        assert!(object_name(DEFAULT_NAME_TEMPLATE, &long).len() <= 253);
        let v = label_value(&long);
        assert!(v.len() <= 63 && valid_label_value(&v), "{v}");
        assert_ne!(label_value(&"x".repeat(300)), label_value(&"x".repeat(301)));
        assert!(valid_label_value(&label_value("-/..\n")));
        assert_eq!(
            object_name("{subject}", ".."),
            format!("---{}", short_hash(".."))
        );
        assert_eq!(
            object_name("..", "a"),
            format!("audit2role-{}", short_hash("a"))
        );
    }

    #[test]
    fn pairs_are_validated() {
        let m = parse_pairs(DEFAULT_LABELS, "alice", Pairs::Labels, "--generate-labels").unwrap();
        assert_eq!(m["audit2role/subject"], "alice");
        assert!(parse_pairs(
            "rbac.authorization.k8s.io/aggregate-to-admin=true",
            "a",
            Pairs::Labels,
            "l"
        )
        .is_err());
        assert!(parse_pairs("bad key=1", "a", Pairs::Labels, "l").is_err());
        assert_eq!(
            parse_pairs(
                "audit2rbac.liggitt.net/version=${version}",
                "a",
                Pairs::Annotations,
                "a"
            )
            .unwrap()["audit2rbac.liggitt.net/version"],
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(
            parse_pairs("v=${version}", "a", Pairs::Labels, "l").unwrap()["v"],
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(
            parse_pairs("note={subject}", "a b", Pairs::Annotations, "a").unwrap()["note"],
            "a b"
        );
    }
}
