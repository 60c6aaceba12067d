//! Partial aggregates: the distinct requests of every subject with their evidence, saved by
//! `audit2role aggregate` and read back in place of logs, so that shards of a big job can be
//! aggregated on many machines and merged once. The format (docs/aggregate-format.md) is
//! JSON lines, optionally gzipped: a header line, then one line per input summary, one per
//! (subject, group set, request) and one per (subject, UTC day) of activity. Merging is
//! associative and commutative. Version 1 files (no activity lines) are still read.

use crate::aggregate::{Aggregate, DayCount, Evidence};
use crate::decode::FileReport;
use crate::error::{Error, Result};
use crate::read::{Opened, Source};
use crate::request::select::Filter;
use crate::request::{Request, RequestRef, ResourceRef, Target, TargetRef};
use crate::time::{format_date, format_rfc3339_micros, parse_date};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};

/// The first line of every partial aggregate, byte for byte.
pub const HEADER: &str = r#"{"kind":"Audit2roleAggregate","version":2}"#;
/// The versions this build reads: 1 had no activity lines.
const READABLE_VERSIONS: [u64; 2] = [1, 2];
const HEADER_PREFIX: &[u8] = br#"{"kind":"Audit2roleAggregate""#;

/// One input the aggregate was made from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    pub name: String,
    pub bytes: u64,
    pub lines: u64,
    pub events: u64,
    #[serde(default)]
    pub skipped: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "readError")]
    pub read_error: Option<String>,
}

/// One distinct request of one subject with one group set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub subject: String,
    pub groups: Vec<String>,
    pub verb: String,
    /// Non-resource requests have a path and no resource fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default)]
    pub api_group: String,
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub subresource: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    pub received: u64,
    pub started: u64,
    pub completed: u64,
    pub denied: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

/// The requests of one subject on one UTC day (version 2 on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRecord {
    pub subject: String,
    /// `YYYY-MM-DD`, in UTC.
    pub day: String,
    pub received: u64,
    pub started: u64,
    pub completed: u64,
    pub denied: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Input { input: InputRecord },
    Activity { activity: ActivityRecord },
    Request(Box<RequestRecord>),
}

/// Writes `aggregate` (and the reports of the inputs it came from) in the partial format,
/// sorted so that the same aggregate always gives the same bytes.
pub fn write(
    aggregate: &Aggregate,
    inputs: &[FileReport],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for r in inputs {
        let record = InputRecord {
            name: r.name.clone(),
            bytes: r.bytes,
            lines: r.lines,
            events: r.events,
            skipped: r.skipped.clone(),
            read_error: r.read_error.clone(),
        };
        let line = serde_json::json!({ "input": record });
        writeln!(out, "{line}")?;
    }
    for subject in aggregate.subject_names() {
        let sub = &aggregate.subjects[subject];
        let mut records: Vec<RequestRecord> = Vec::new();
        for (request, entries) in sub.requests.iter() {
            let request = request.to_owned_request();
            for (g, e) in entries {
                records.push(record_of(
                    subject,
                    &sub.group_sets[g as usize],
                    &request,
                    &e,
                ));
            }
        }
        records.sort_by(|a, b| {
            (
                &a.verb,
                &a.path,
                &a.api_group,
                &a.resource,
                &a.subresource,
                &a.namespace,
                &a.name,
                &a.groups,
            )
                .cmp(&(
                    &b.verb,
                    &b.path,
                    &b.api_group,
                    &b.resource,
                    &b.subresource,
                    &b.namespace,
                    &b.name,
                    &b.groups,
                ))
        });
        for r in records {
            let line = serde_json::to_string(&r).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
        }
        for d in sub.activity.days() {
            let record = ActivityRecord {
                subject: subject.to_string(),
                day: format_date(d.day),
                received: d.received,
                started: d.started,
                completed: d.completed,
                denied: d.denied,
            };
            let line = serde_json::json!({ "activity": record });
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

fn record_of(subject: &str, groups: &[String], request: &Request, e: &Evidence) -> RequestRecord {
    let mut r = RequestRecord {
        subject: subject.to_string(),
        groups: groups.to_vec(),
        verb: request.verb.clone(),
        received: e.received,
        started: e.started,
        completed: e.completed,
        denied: e.denied,
        first: e.first.map(format_rfc3339_micros),
        last: e.last.map(format_rfc3339_micros),
        ..RequestRecord::default()
    };
    match &request.target {
        Target::NonResource { path } => r.path = Some(path.clone()),
        Target::Resource(t) => {
            r.api_group = t.api_group.clone();
            r.resource = t.resource.clone();
            r.subresource = t.subresource.clone();
            r.namespace = t.namespace.clone();
            r.name = t.name.clone();
        }
    }
    r
}

/// Whether `source`, whose decompressed text starts with `head`, is a partial aggregate
/// (it starts with the header). Standard input is always read as a log.
pub fn is_partial(source: &Source, head: &[u8]) -> bool {
    source.path.is_some() && head.starts_with(HEADER_PREFIX)
}

fn time_field(value: &Option<String>, src: &str, line: u64, field: &str) -> Result<Option<i64>> {
    match value {
        None => Ok(None),
        Some(v) => crate::time::parse_rfc3339_micros(v)
            .map(Some)
            .ok_or_else(|| {
                Error::input(
                    src,
                    Some(line),
                    format!("{field}: not an RFC 3339 time: {v:?}"),
                )
            }),
    }
}

/// Reads a partial aggregate, `source` opened as `input`, into `aggregate`, keeping what
/// `filter` wants. Returns the report of the file itself and the reports of the inputs it
/// was made from. Any damage is an error naming the file and line: a partial aggregate is
/// machine-written, so a bad line means a bad file, and silently dropping evidence would
/// change the result.
pub fn read(
    source: &Source,
    input: Opened,
    filter: &Filter,
    aggregate: &mut Aggregate,
) -> Result<(FileReport, Vec<FileReport>)> {
    if filter.has_window() {
        return Err(Error::Usage(format!(
            "{}: a partial aggregate cannot be cut to --since/--until; give them to `audit2role aggregate` instead",
            source.name
        )));
    }
    let reader = BufReader::with_capacity(1 << 20, input);
    read_from(reader, &source.name, filter, aggregate)
}

/// [`read`] from any reader of the decompressed text; `name` names it in errors.
pub fn read_from<R: BufRead>(
    reader: R,
    name: &str,
    filter: &Filter,
    aggregate: &mut Aggregate,
) -> Result<(FileReport, Vec<FileReport>)> {
    let mut report = FileReport {
        name: name.to_string(),
        ..FileReport::default()
    };
    let mut inputs = Vec::new();
    let mut version = 0;
    // Day counters are per subject: a namespace filter cannot cut them, so they are left
    // out rather than shown for requests the filter dropped.
    let keep_activity = filter.namespace.is_none() && filter.namespace_regex.is_none();
    for (i, line) in reader.split(b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line =
            line.map_err(|e| Error::input(name, Some(line_no), format!("cannot read: {e}")))?;
        report.lines += 1;
        report.bytes += line.len() as u64 + 1;
        let text = std::str::from_utf8(&line)
            .map_err(|_| Error::input(name, Some(line_no), "invalid UTF-8"))?
            .trim_end_matches('\r');
        if line_no == 1 {
            let header: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Error::input(name, Some(1), format!("invalid header: {e}")))?;
            version = match header["version"].as_u64() {
                Some(v) if READABLE_VERSIONS.contains(&v) => v,
                _ => {
                    return Err(Error::input(
                        name,
                        Some(1),
                        format!(
                            "unsupported partial aggregate version {}; this audit2role reads versions 1 and 2",
                            header["version"]
                        ),
                    ))
                }
            };
            continue;
        }
        if text.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(text).map_err(|e| {
            Error::input(
                name,
                Some(line_no),
                format!("not a partial-aggregate record: {e}"),
            )
        })?;
        match parsed {
            Line::Input { input } => inputs.push(FileReport {
                name: input.name,
                bytes: input.bytes,
                lines: input.lines,
                events: input.events,
                skipped: input.skipped,
                read_error: input.read_error,
                ..FileReport::default()
            }),
            Line::Activity { activity: a } => {
                if version < 2 {
                    return Err(Error::input(
                        name,
                        Some(line_no),
                        "an activity line in a version 1 partial aggregate",
                    ));
                }
                let day = parse_date(&a.day).ok_or_else(|| {
                    Error::input(
                        name,
                        Some(line_no),
                        format!("day: not a YYYY-MM-DD date: {:?}", a.day),
                    )
                })?;
                if a.subject.is_empty() {
                    return Err(Error::input(
                        name,
                        Some(line_no),
                        "activity without subject",
                    ));
                }
                if keep_activity && filter.wants_subject(&a.subject) {
                    aggregate
                        .subjects
                        .entry_ref(a.subject.as_str())
                        .or_default()
                        .activity
                        .add(&DayCount {
                            day,
                            received: a.received,
                            started: a.started,
                            completed: a.completed,
                            denied: a.denied,
                        });
                }
            }
            Line::Request(r) => {
                let evidence = Evidence {
                    received: r.received,
                    started: r.started,
                    completed: r.completed,
                    denied: r.denied,
                    first: time_field(&r.first, name, line_no, "first")?,
                    last: time_field(&r.last, name, line_no, "last")?,
                };
                let request = RequestRef {
                    verb: &r.verb,
                    target: match &r.path {
                        Some(path) => TargetRef::NonResource { path },
                        None => TargetRef::Resource(ResourceRef {
                            api_group: &r.api_group,
                            resource: &r.resource,
                            subresource: &r.subresource,
                            namespace: &r.namespace,
                            name: &r.name,
                        }),
                    },
                };
                if r.verb.is_empty() || r.subject.is_empty() {
                    return Err(Error::input(
                        name,
                        Some(line_no),
                        "record without subject or verb",
                    ));
                }
                report.events += evidence.count();
                if filter.wants_subject(&r.subject) && filter.wants_request(&request) {
                    let groups: Vec<&str> = r.groups.iter().map(String::as_str).collect();
                    aggregate
                        .subjects
                        .entry_ref(r.subject.as_str())
                        .or_default()
                        .add_evidence(request, &groups, &evidence);
                }
            }
        }
    }
    if report.lines == 0 {
        return Err(Error::input(name, None, "empty partial aggregate"));
    }
    Ok((report, inputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::normalize::Stage;

    const DAY: i64 = 86_400_000_000;
    const V1: &str = concat!(
        "{\"kind\":\"Audit2roleAggregate\",\"version\":1}\n",
        "{\"input\":{\"name\":\"a.log\",\"bytes\":10,\"lines\":2,\"events\":2,\"skipped\":{}}}\n",
        "{\"subject\":\"alice\",\"groups\":[\"devs\"],\"verb\":\"get\",\"path\":\"/x\",",
        "\"received\":0,\"started\":0,\"completed\":2,\"denied\":1,",
        "\"first\":\"2026-11-29T10:00:00Z\",\"last\":\"2026-11-30T10:00:00Z\"}\n",
    );

    fn read_text(text: &str, filter: &Filter) -> Result<Aggregate> {
        let mut aggregate = Aggregate::default();
        read_from(text.as_bytes(), "t.agg", filter, &mut aggregate)?;
        Ok(aggregate)
    }

    fn sample() -> Aggregate {
        let mut aggregate = Aggregate::default();
        let sub = aggregate.subjects.entry_ref("alice").or_default();
        let x = Request::non_resource("get", "/x");
        let y = Request::non_resource("list", "/y");
        let day0 = 20_786 * DAY;
        sub.record(
            x.as_ref(),
            &["devs"],
            Stage::Completed,
            Some(day0 + 5),
            false,
        );
        sub.record(
            x.as_ref(),
            &["devs"],
            Stage::Completed,
            Some(day0 + DAY),
            true,
        );
        sub.record(
            y.as_ref(),
            &[],
            Stage::RequestReceived,
            Some(day0 + 3 * DAY),
            false,
        );
        sub.record(y.as_ref(), &[], Stage::Completed, None, false);
        aggregate
    }

    fn written(aggregate: &Aggregate) -> String {
        let mut out = Vec::new();
        write(aggregate, &[], &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn activity_round_trips_through_version_2() {
        let a = sample();
        let text = written(&a);
        assert!(text.starts_with("{\"kind\":\"Audit2roleAggregate\",\"version\":2}\n"));
        assert!(text.contains(
            "{\"activity\":{\"completed\":1,\"day\":\"2026-11-30\",\"denied\":1,\"received\":0,\"started\":0,\"subject\":\"alice\"}}\n"
        ));
        let back = read_text(&text, &Filter::default()).unwrap();
        let (mine, theirs) = (&a.subjects["alice"], &back.subjects["alice"]);
        assert_eq!(theirs.activity, mine.activity);
        assert_eq!(theirs.evidence_by_request(), mine.evidence_by_request());
        let days: Vec<(String, u64)> = theirs
            .activity
            .days()
            .iter()
            .map(|d| (crate::time::format_date(d.day), d.requests()))
            .collect();
        assert_eq!(
            days,
            [
                ("2026-11-29".to_string(), 1),
                ("2026-11-30".to_string(), 1),
                ("2026-12-02".to_string(), 1)
            ]
        );
        // Written again, the same bytes.
        assert_eq!(written(&back), text);
    }

    #[test]
    fn version_1_files_are_still_read_without_activity() {
        let a = read_text(V1, &Filter::default()).unwrap();
        let alice = &a.subjects["alice"];
        let evidence = alice.evidence_by_request();
        assert_eq!(evidence.len(), 1);
        assert_eq!((evidence[0].1.count(), evidence[0].1.denied), (2, 1));
        assert!(alice.activity.is_empty());
        // An activity line belongs to version 2 only.
        let v1_with_activity = format!(
            "{V1}{{\"activity\":{{\"subject\":\"alice\",\"day\":\"2026-11-29\",\"received\":0,\"started\":0,\"completed\":1,\"denied\":0}}}}\n"
        );
        let e = read_text(&v1_with_activity, &Filter::default()).unwrap_err();
        assert!(e.to_string().contains("t.agg:4"), "{e}");
    }

    #[test]
    fn damaged_activity_lines_are_errors_with_the_line() {
        let header = "{\"kind\":\"Audit2roleAggregate\",\"version\":2}\n";
        for bad in [
            "{\"activity\":{\"subject\":\"a\",\"day\":\"2026-02-30\",\"received\":0,\"started\":0,\"completed\":1,\"denied\":0}}",
            "{\"activity\":{\"subject\":\"\",\"day\":\"2026-02-03\",\"received\":0,\"started\":0,\"completed\":1,\"denied\":0}}",
            "{\"activity\":{\"subject\":\"a\",\"day\":\"2026-02-03\",\"received\":-1,\"started\":0,\"completed\":1,\"denied\":0}}",
            "{\"activity\":{\"subject\":\"a\",\"day\":\"2026-02-03\",\"completed\":1}}",
        ] {
            let e = read_text(&format!("{header}{bad}\n"), &Filter::default()).unwrap_err();
            assert!(e.to_string().contains("t.agg:2"), "{bad}: {e}");
        }
        let e = read_text(
            "{\"kind\":\"Audit2roleAggregate\",\"version\":3}\n",
            &Filter::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("version 3"), "{e}");
    }

    #[test]
    fn a_namespace_filter_leaves_activity_out() {
        let text = written(&sample());
        let filter = Filter {
            namespace: Some("dev".to_string()),
            ..Filter::default()
        };
        let a = read_text(&text, &filter).unwrap();
        assert!(a.subjects.values().all(|s| s.activity.is_empty()));
        let users = Filter {
            users: vec!["bob".to_string()],
            ..Filter::default()
        };
        assert!(read_text(&text, &users).unwrap().subjects.is_empty());
    }
}
