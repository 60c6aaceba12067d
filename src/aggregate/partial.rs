//! Partial aggregates: the distinct requests of every subject with their evidence, saved by
//! `audit2role aggregate` and read back in place of logs, so that shards of a big job can be
//! aggregated on many machines and merged once. The format (docs/aggregate-format.md) is
//! JSON lines, optionally gzipped: a header line, then one line per input summary and one
//! per (subject, group set, request). Merging is associative and commutative.

use crate::aggregate::{Aggregate, Evidence};
use crate::decode::FileReport;
use crate::error::{Error, Result};
use crate::read::{Opened, Source};
use crate::request::select::Filter;
use crate::request::{Request, RequestRef, ResourceRef, Target, TargetRef};
use crate::time::{format_rfc3339_micros, parse_rfc3339_micros};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};

/// The first line of every partial aggregate, byte for byte.
pub const HEADER: &str = r#"{"kind":"Audit2roleAggregate","version":1}"#;
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

#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Input { input: InputRecord },
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
        Some(v) => parse_rfc3339_micros(v).map(Some).ok_or_else(|| {
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
            if header["version"] != 1 {
                return Err(Error::input(
                    name,
                    Some(1),
                    format!(
                        "unsupported partial aggregate version {}; this audit2role reads version 1",
                        header["version"]
                    ),
                ));
            }
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
