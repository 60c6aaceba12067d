//! Filtering: which events count. Subjects (exact names), namespace (exact or a regular
//! expression) and a time window on the request's timestamp. `--since` and `--until` take
//! RFC 3339 timestamps or durations back from now (`7d`, `36h`).

use crate::decode::Prefilter;
use crate::error::{Error, Result};
use crate::request::{RequestRef, ResourceRef, TargetRef};
use crate::time::parse_rfc3339_micros;
use regex::Regex;

/// Which events to keep.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Exact user names to keep; empty means every subject.
    pub users: Vec<String>,
    /// Keep only resource requests in this namespace.
    pub namespace: Option<String>,
    /// Keep only resource requests whose namespace matches.
    pub namespace_regex: Option<Regex>,
    /// Keep only requests at or after this time (µs since the epoch).
    pub since: Option<i64>,
    /// Keep only requests before this time (µs since the epoch).
    pub until: Option<i64>,
}

impl Filter {
    pub fn wants_subject(&self, name: &str) -> bool {
        self.users.is_empty() || self.users.iter().any(|u| u == name)
    }

    pub fn wants_request(&self, request: &RequestRef<'_>) -> bool {
        if self.namespace.is_none() && self.namespace_regex.is_none() {
            return true;
        }
        let TargetRef::Resource(ResourceRef { namespace, .. }) = request.target else {
            return false;
        };
        self.namespace.as_deref().is_none_or(|ns| ns == namespace)
            && self
                .namespace_regex
                .as_ref()
                .is_none_or(|re| re.is_match(namespace))
    }

    /// Events without a readable timestamp are left out once a window is set.
    pub fn wants_time(&self, time: Option<i64>) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(t) = time else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether anything but subjects is filtered (the `--user` prefilter stays valid).
    pub fn has_window(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// The decoder's prefilter for this selection: lines that cannot spell any wanted
    /// subject need not be decoded. `None` when every subject is wanted.
    pub fn prefilter(&self) -> Option<Prefilter> {
        Prefilter::new(&self.users)
    }
}

/// The current time in µs since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Parses a `--since`/`--until` value: an RFC 3339 timestamp, a date (`2026-11-02`, the
/// start of that day in UTC), or a duration back from `now` (`90s`, `30m`, `36h`, `7d`,
/// `2w`).
pub fn parse_time_bound(value: &str, now: i64, flag: &str) -> Result<i64> {
    if let Some(t) = parse_rfc3339_micros(value) {
        return Ok(t);
    }
    let is_date = value.len() == 10 && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-';
    if let Some(t) = is_date
        .then(|| parse_rfc3339_micros(&format!("{value}T00:00:00Z")))
        .flatten()
    {
        return Ok(t);
    }
    let bad = || {
        Error::Usage(format!(
            "{flag} {value:?}: expected an RFC 3339 time (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration like 7d, 36h, 30m"
        ))
    };
    let (n, unit) = duration_back(value).ok_or_else(bad)?;
    n.checked_mul(unit.seconds() * 1_000_000)
        .and_then(|d| now.checked_sub(d))
        .ok_or_else(bad)
}

/// The unit of a duration back from now (`7d`, `36h`, `30m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl DurationUnit {
    pub fn seconds(self) -> i64 {
        match self {
            DurationUnit::Seconds => 1,
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3600,
            DurationUnit::Days => 86400,
            DurationUnit::Weeks => 7 * 86400,
        }
    }
}

/// A duration back from now as [`parse_time_bound`] reads it: digits and one of `s`, `m`,
/// `h`, `d`, `w`.
pub fn duration_back(value: &str) -> Option<(i64, DurationUnit)> {
    let unit_at = value.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = value.split_at(unit_at);
    let n = digits.parse().ok()?;
    let unit = match unit {
        "s" => DurationUnit::Seconds,
        "m" => DurationUnit::Minutes,
        "h" => DurationUnit::Hours,
        "d" => DurationUnit::Days,
        "w" => DurationUnit::Weeks,
        _ => return None,
    };
    Some((n, unit))
}

/// Which subjects to generate for: named ones, regular expressions, or all, less exclusions.
pub struct SubjectSelection {
    /// Exact user names, in the order given.
    pub named: Vec<String>,
    patterns: Vec<Regex>,
    excluded: Vec<Regex>,
    all: bool,
}

fn compile(patterns: &[String], flag: &str) -> Result<Vec<Regex>> {
    patterns
        .iter()
        .map(|p| Regex::new(p).map_err(|e| Error::Usage(format!("{flag} {p:?}: {e}"))))
        .collect()
}

impl SubjectSelection {
    /// `named` users, users matching `patterns` (`--subject-regex`), or `all`, less those
    /// matching `excluded` (`--exclude-subject`). Nothing chosen is a usage error.
    pub fn new(
        named: Vec<String>,
        patterns: &[String],
        excluded: &[String],
        all: bool,
    ) -> Result<SubjectSelection> {
        let selection = SubjectSelection {
            named,
            patterns: compile(patterns, "--subject-regex")?,
            excluded: compile(excluded, "--exclude-subject")?,
            all,
        };
        if selection.named.is_empty() && selection.patterns.is_empty() && !selection.all {
            return Err(Error::Usage(
                "say whose requests to use: --user USER, --serviceaccount NAMESPACE:NAME, --subject-regex RE or --all-subjects".to_string(),
            ));
        }
        Ok(selection)
    }

    /// One named subject and nothing else: the classic audit2rbac invocation.
    pub fn single(&self) -> Option<&str> {
        (self.named.len() == 1 && self.patterns.is_empty() && !self.all)
            .then(|| self.named[0].as_str())
    }

    /// The exact names to keep while reading, when that is all the selection can match.
    pub fn read_filter(&self) -> Vec<String> {
        if self.patterns.is_empty() && !self.all {
            self.named.clone()
        } else {
            Vec::new()
        }
    }

    /// The `--exclude-subject` expression that leaves `subject` out, if one does.
    pub fn excluded_by(&self, subject: &str) -> Option<&str> {
        self.excluded
            .iter()
            .find(|p| p.is_match(subject))
            .map(|p| p.as_str())
    }

    /// Whether `subject` is selected.
    pub fn wants(&self, subject: &str) -> bool {
        let chosen = self.all
            || self.named.iter().any(|n| n == subject)
            || self.patterns.iter().any(|p| p.is_match(subject));
        chosen && !self.excluded.iter().any(|p| p.is_match(subject))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds() {
        let now = parse_rfc3339_micros("2026-11-29T12:00:00Z").unwrap();
        assert_eq!(
            parse_time_bound("36h", now, "--since").unwrap(),
            parse_rfc3339_micros("2026-11-28T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time_bound("7d", now, "--since").unwrap(),
            parse_rfc3339_micros("2026-11-22T12:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time_bound("2026-11-01T00:00:00Z", now, "--since").unwrap(),
            parse_rfc3339_micros("2026-11-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time_bound("2026-11-02", now, "--until").unwrap(),
            parse_rfc3339_micros("2026-11-02T00:00:00Z").unwrap()
        );
        for bad in [
            "",
            "7",
            "d",
            "7y",
            "-3d",
            "yesterday",
            "2026-13-02",
            "2026-1-2",
            "2026-11-0x",
        ] {
            assert!(parse_time_bound(bad, now, "--since").is_err(), "{bad}");
        }
    }

    #[test]
    fn window_and_namespaces() {
        let f = Filter {
            since: Some(10),
            until: Some(20),
            ..Filter::default()
        };
        assert!(f.wants_time(Some(10)) && f.wants_time(Some(19)));
        assert!(!f.wants_time(Some(20)) && !f.wants_time(Some(9)) && !f.wants_time(None));
        let f = Filter {
            namespace_regex: Some(Regex::new("^team-").unwrap()),
            ..Filter::default()
        };
        let req = |ns| RequestRef {
            verb: "get",
            target: TargetRef::Resource(ResourceRef {
                api_group: "",
                resource: "pods",
                subresource: "",
                namespace: ns,
                name: "",
            }),
        };
        assert!(f.wants_request(&req("team-a")));
        assert!(!f.wants_request(&req("kube-system")));
        assert!(!f.wants_request(&RequestRef {
            verb: "get",
            target: TargetRef::NonResource { path: "/x" }
        }));
    }
}
