//! Generated RBAC as people, kubectl and programs read it: the YAML of one subject (with
//! risk and evidence comments), the JSON `v1 List` of several, `--out-dir`'s summary.json,
//! and the lines of the run's summary on stderr.

use crate::aggregate::Totals;
use crate::decode::FileReport;
use crate::generate::policy::Policy;
use crate::generate::review::{comments, describe_rule, report_json, CommentOptions};
use crate::generate::{size_warning, SubjectOutput};
use crate::render::words::plural;
use crate::request::split_service_account;
use crate::time::format_rfc3339_micros;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{Seek, Write};

/// One subject's objects as YAML, with risk notes (and evidence, when asked for).
pub fn yaml_of(out: &SubjectOutput<'_>, evidence: bool) -> String {
    crate::render::to_yaml(
        &out.generated.rbac,
        &comments(&out.reports, &CommentOptions { evidence }),
    )
}

/// Several subjects' objects as one JSON `v1 List`, with the evidence report beside the
/// items when asked for.
pub fn json_of(outputs: &[&SubjectOutput<'_>], evidence: bool) -> String {
    let options = JsonListOptions {
        evidence,
        subjects: outputs.len(),
    };
    let mut list = JsonList::new(Vec::new(), options, Spill::memory());
    for o in outputs {
        // Writes to memory do not fail.
        let _ = list.add(o);
    }
    let bytes = list.finish().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// What a [`JsonList`] holds.
#[derive(Clone, Copy, Debug)]
pub struct JsonListOptions {
    /// Each subject's evidence report goes beside the items (`audit2role`).
    pub evidence: bool,
    /// How many subjects will be added: a single subject's report is not wrapped in a list.
    pub subjects: usize,
}

/// Where a [`JsonList`] keeps its items while the reports, which come first in the list,
/// are still being written.
pub enum Spill {
    Memory(Vec<u8>),
    /// An unnamed temporary file, gone with the process.
    File(std::io::BufWriter<std::fs::File>),
}

impl Spill {
    pub fn memory() -> Spill {
        Spill::Memory(Vec::new())
    }

    /// A temporary file: for lists too large to keep in memory.
    pub fn file() -> std::io::Result<Spill> {
        Ok(Spill::File(std::io::BufWriter::new(tempfile::tempfile()?)))
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Spill::Memory(v) => v,
            Spill::File(f) => f,
        }
    }

    fn copy_to(self, out: &mut dyn Write) -> std::io::Result<()> {
        match self {
            Spill::Memory(v) => out.write_all(&v),
            Spill::File(f) => {
                let mut file = f.into_inner().map_err(|e| e.into_error())?;
                file.seek(std::io::SeekFrom::Start(0))?;
                std::io::copy(&mut file, out).map(|_| ())
            }
        }
    }
}

/// The JSON `v1 List` of [`json_of`], written a subject at a time, so that a subject's
/// output can go before the next one is generated. The text is serde_json's pretty form of
/// the whole list: keys in alphabetical order (`apiVersion`, `audit2role`, `items`,
/// `kind`), two spaces a level. Without evidence the items go straight out; with it they
/// wait in the [`Spill`] until the reports before them are written.
pub struct JsonList<W: Write> {
    out: W,
    options: JsonListOptions,
    spill: Spill,
    started: bool,
    reports: usize,
    items: usize,
}

impl<W: Write> JsonList<W> {
    pub fn new(out: W, options: JsonListOptions, spill: Spill) -> JsonList<W> {
        JsonList {
            out,
            options,
            spill,
            started: false,
            reports: 0,
            items: 0,
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        self.started = true;
        self.out.write_all(b"{\n  \"apiVersion\": \"v1\",\n")?;
        if self.options.evidence {
            self.out.write_all(b"  \"audit2role\": ")?;
            if self.options.subjects != 1 {
                self.out.write_all(b"{\n    \"subjects\": [")?;
            }
        } else {
            self.out.write_all(b"  \"items\": [")?;
        }
        Ok(())
    }

    /// Adds `output`'s objects (and its report, with evidence).
    pub fn add(&mut self, output: &SubjectOutput<'_>) -> std::io::Result<()> {
        if !self.started {
            self.start()?;
        }
        if self.options.evidence {
            let report = pretty(&report_json(&output.subject, &output.reports));
            if self.options.subjects == 1 {
                self.out.write_all(nested(&report, 1).as_bytes())?;
            } else {
                element(&mut self.out, self.reports, &report, 2)?;
            }
            self.reports += 1;
        }
        for item in crate::render::to_json_items(&output.generated.rbac) {
            let text = pretty(&item);
            let sink: &mut dyn Write = if self.options.evidence {
                self.spill.writer()
            } else {
                &mut self.out
            };
            element(sink, self.items, &text, 1)?;
            self.items += 1;
        }
        Ok(())
    }

    /// Ends the list (with its final line end) and hands back the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        if !self.started {
            self.start()?;
        }
        if self.options.evidence {
            if self.options.subjects != 1 {
                close(&mut self.out, self.reports, 2)?;
                self.out.write_all(b"\n  }")?;
            }
            self.out.write_all(b",\n  \"items\": [")?;
            self.spill.copy_to(&mut self.out)?;
        }
        close(&mut self.out, self.items, 1)?;
        self.out.write_all(b",\n  \"kind\": \"List\"\n}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `text` (a pretty JSON value) as it reads `depth` levels in: every line after the first
/// indented. JSON strings hold no raw line ends, so the lines are the value's own.
fn nested(text: &str, depth: usize) -> String {
    text.replace('\n', &format!("\n{}", "  ".repeat(depth)))
}

/// Element `index` (a pretty value) of an array `depth` levels in, after its separator.
fn element(out: &mut dyn Write, index: usize, text: &str, depth: usize) -> std::io::Result<()> {
    let separator = if index == 0 { "\n" } else { ",\n" };
    let pad = "  ".repeat(depth + 1);
    write!(out, "{separator}{pad}{}", nested(text, depth + 1))
}

/// The end of an array of `count` elements `depth` levels in (`[]` when empty).
fn close(out: &mut dyn Write, count: usize, depth: usize) -> std::io::Result<()> {
    if count == 0 {
        out.write_all(b"]")
    } else {
        write!(out, "\n{}]", "  ".repeat(depth))
    }
}

/// What summary.json says of one subject: what was seen and written. Kept for every
/// subject of a run while the subjects' outputs come and go.
#[derive(Clone, Debug)]
pub struct SubjectRecord {
    pub subject: String,
    /// Its requests added up.
    pub totals: Totals,
    pub objects: usize,
    pub rules: usize,
    /// The file written for it, if any.
    pub file: Option<String>,
}

impl SubjectRecord {
    /// The record of `output`, whose requests add up to `totals`, written to `file`.
    pub fn of(output: &SubjectOutput<'_>, totals: &Totals, file: Option<&str>) -> SubjectRecord {
        SubjectRecord {
            subject: output.subject.clone(),
            totals: *totals,
            objects: output.generated.rbac.len(),
            rules: output.generated.rbac.rule_count(),
            file: file.map(str::to_string),
        }
    }
}

/// DIR/summary.json's text: the inputs, the stale files an earlier run left and this run
/// kept (`staleFiles`, so the next run still knows them), and per subject what was seen
/// and written. Serialized straight from the records, keys in alphabetical order, without
/// a JSON tree of every subject in memory.
pub fn summary_json(
    reports: &[FileReport],
    subjects: &[SubjectRecord],
    stale_kept: &[String],
) -> String {
    let mut skipped_total: BTreeMap<&str, u64> = BTreeMap::new();
    for r in reports {
        for (reason, n) in &r.skipped {
            *skipped_total.entry(reason).or_default() += n;
        }
    }
    let inputs = json!({
        "files": reports.iter().map(|r| json!({
            "name": r.name,
            "bytes": r.bytes,
            "lines": r.lines,
            "events": r.events,
            "skipped": r.skipped,
            "readError": r.read_error,
        })).collect::<Vec<_>>(),
        "bytes": reports.iter().map(|r| r.bytes).sum::<u64>(),
        "events": reports.iter().map(|r| r.events).sum::<u64>(),
        "requests": subjects.iter().map(|o| o.totals.requests).sum::<u64>(),
        "skipped": skipped_total,
    });
    let summary = Summary {
        inputs,
        stale_files: stale_kept,
        subjects: SubjectEntries(subjects),
    };
    format!(
        "{}\n",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    )
}

/// summary.json, its keys in alphabetical order.
#[derive(serde::Serialize)]
struct Summary<'a> {
    inputs: serde_json::Value,
    #[serde(rename = "staleFiles", skip_serializing_if = "<[String]>::is_empty")]
    stale_files: &'a [String],
    subjects: SubjectEntries<'a>,
}

/// The subjects of summary.json, each made from its record as it is written.
struct SubjectEntries<'a>(&'a [SubjectRecord]);

impl serde::Serialize for SubjectEntries<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(SubjectEntry::of))
    }
}

/// One subject of summary.json, its keys in alphabetical order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SubjectEntry<'a> {
    denied: u64,
    distinct_requests: usize,
    file: Option<&'a str>,
    first_seen: Option<String>,
    kind: &'static str,
    last_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_file: Option<&'static str>,
    objects: usize,
    requests: u64,
    rules: usize,
    subject: &'a str,
}

impl SubjectEntry<'_> {
    fn of(o: &SubjectRecord) -> SubjectEntry<'_> {
        let kind = if split_service_account(&o.subject).is_some() {
            "ServiceAccount"
        } else {
            "User"
        };
        SubjectEntry {
            denied: o.totals.denied,
            distinct_requests: o.totals.distinct,
            file: o.file.as_deref(),
            first_seen: o.totals.first.map(format_rfc3339_micros),
            kind,
            last_seen: o.totals.last.map(format_rfc3339_micros),
            // A subject gets a file exactly when something was generated for it.
            no_file: (o.file.is_none() && o.objects == 0)
                .then_some(crate::render::stale::NO_FILE_REASON),
            objects: o.objects,
            requests: o.totals.requests,
            rules: o.rules,
            subject: &o.subject,
        }
    }
}

/// The lines the run prints on stderr for one subject: what was read and written (to `file`,
/// when it went to one), each risk, size and refusal warnings, and notes. `totals` are its
/// requests added up.
pub fn subject_summary(
    o: &SubjectOutput<'_>,
    totals: &Totals,
    file: Option<&str>,
    policy: &Policy,
) -> Vec<String> {
    let mut lines = Vec::new();
    let requests = totals.requests;
    let file = file.map(|f| format!(" to {f}")).unwrap_or_default();
    lines.push(format!(
        "{}: {}, {} distinct; {} already allowed; wrote {} with {}{file}",
        o.subject,
        plural(requests, "request"),
        o.observed.len(),
        o.generated.already_allowed,
        plural(o.generated.rbac.len() as u64, "object"),
        plural(o.reports.len() as u64, "rule")
    ));
    for r in o.reports.iter().filter(|r| !r.risks.is_empty()) {
        for risk in &r.risks {
            lines.push(format!(
                "risk: {}: {}: {}: {}",
                risk.level,
                r.location(),
                describe_rule(&r.rule),
                risk.reason
            ));
        }
    }
    if let Some(w) = size_warning(&o.subject, &o.generated.rbac, policy) {
        lines.push(w);
    }
    for r in &o.generated.refused {
        lines.push(format!("warning: {}: not granted: {r}: a URL ending in * would be a wildcard rule; grant it by hand if needed", o.subject));
    }
    if o.masters {
        lines.push(format!("note: {} is in system:masters, which bypasses RBAC; the generated RBAC is what it would need without that group", o.subject));
    }
    if o.generated.rbac.is_empty() {
        lines.push(format!(
            "note: everything {} did is already allowed; nothing to generate",
            o.subject
        ));
    }
    lines
}
