//! Decoding: turns blocks of whole lines of one input into audit events.
//!
//! The contract: a [`Decoder`], made from [`DecodeOptions`], decodes one block at a time
//! ([`Decoder::decode_block`]): the block's text, the line number of its first line, the
//! input's [`FileReport`] and a [`Sink`]. Every event found is handed to
//! [`Sink::event`] with its line number, in input order; a list's items come one by one,
//! with the list's apiVersion for items without their own. A block must hold whole
//! multi-line documents (the reader cuts blocks only between them, by the rule in
//! [`framing`]); a document still open at the end of a block is decoded there, as at the
//! end of the input.
//!
//! JSON lines are the fast path (the scanner in [`scan`], then serde_json); a line that is
//! exactly `{` or `[` opens a pretty-printed document (an EventList, a List or an array)
//! that runs until its brackets close. Cloud export records (see [`cloud`]) are unwrapped
//! to the native events they hold. Unusable lines, and events the sink refuses, are
//! counted per reason in the report, with the first few kept as examples; with
//! [`DecodeOptions::strict`] the first one is an error instead.

pub mod cloud;
pub mod framing;
pub mod items;
pub mod native;
pub mod prefilter;
pub mod record;
pub mod scan;

use crate::error::{Error, Result};
use cloud::{aks, eks, gke};
use framing::{Frame, Framing};
use native::EventDoc;
pub use prefilter::Prefilter;
use record::Record;
use std::collections::BTreeMap;

/// How many skipped lines per file are shown with their reason.
pub const EXAMPLES_PER_FILE: usize = 5;

/// What reading one input found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    pub name: String,
    /// Decompressed bytes read.
    pub bytes: u64,
    pub lines: u64,
    /// Events handed on (after unpacking lists).
    pub events: u64,
    /// Skipped lines (or list items) per reason.
    pub skipped: BTreeMap<String, u64>,
    /// The first few skipped lines: line number and reason.
    pub examples: Vec<(u64, String)>,
    /// A read error that ended the input early (truncated or corrupt stream).
    pub read_error: Option<String>,
    /// Lines not decoded because they cannot mention the wanted subjects (`--user`).
    pub prefiltered: u64,
    /// Events whose objectRef was missing, incomplete or disagreed with `requestURI`, so
    /// that the request was taken from the URI; and the first of them (line, what differed).
    pub from_uri: u64,
    pub from_uri_example: Option<(u64, String)>,
}

impl FileReport {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Adds the counts of `other`, the report of a later block of the same input.
    pub fn absorb(&mut self, other: FileReport) {
        self.bytes += other.bytes;
        self.lines += other.lines;
        self.events += other.events;
        self.prefiltered += other.prefiltered;
        self.from_uri += other.from_uri;
        if self.from_uri_example.is_none() {
            self.from_uri_example = other.from_uri_example;
        }
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        let room = EXAMPLES_PER_FILE.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}

/// Why an event could not be used: a short class for counting and a detail for the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unusable {
    pub class: &'static str,
    pub detail: String,
}

impl Unusable {
    pub fn new(class: &'static str, detail: impl Into<String>) -> Unusable {
        Unusable {
            class,
            detail: detail.into(),
        }
    }
}

/// Where decoded events go.
pub trait Sink {
    /// One event, read at line `line`. `list_version` is the apiVersion of the enclosing
    /// EventList, which items without their own inherit. `Err` marks the event unusable:
    /// it is counted and reported with that reason (an error with `strict`).
    fn event(
        &mut self,
        event: &EventDoc<'_>,
        list_version: Option<&str>,
        line: u64,
    ) -> std::result::Result<(), Unusable>;
}

/// A sink made of a closure taking `(event, list_version, line)` (see [`sink_fn`]).
pub struct FnSink<F>(F);

/// A sink that calls `f(event, list_version, line)` for each event: for tests and tools.
pub fn sink_fn<F>(f: F) -> FnSink<F>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    FnSink(f)
}

impl<F> Sink for FnSink<F>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    fn event(
        &mut self,
        event: &EventDoc<'_>,
        list_version: Option<&str>,
        line: u64,
    ) -> std::result::Result<(), Unusable> {
        (self.0)(event, list_version, line)
    }
}

/// How lines are decoded.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions<'a> {
    /// The first unusable line (or event) is an error naming the file and line, instead of
    /// being counted and skipped; bodies are validated too.
    pub strict: bool,
    /// Lines that cannot mention the wanted subjects are counted as prefiltered, not
    /// decoded (see [`Prefilter`]).
    pub prefilter: Option<&'a Prefilter>,
    /// Lines (and documents) longer than this many bytes, line ends not counted, are
    /// skipped as too long; 0 means [`MAX_LINE_BYTES`].
    pub max_line: usize,
}

/// The default line limit.
pub const MAX_LINE_BYTES: usize = 128 << 20;

impl DecodeOptions<'_> {
    /// The line limit in force.
    pub fn max_line(&self) -> usize {
        if self.max_line == 0 {
            MAX_LINE_BYTES
        } else {
            self.max_line
        }
    }
}

/// The reason given for a line, or a document of `lines` lines, of `length` bytes (its last
/// line end not counted) over the line limit `limit`.
pub fn too_long_detail(lines: u64, length: u64, limit: usize) -> String {
    let what = if lines > 1 {
        format!("a document of {lines} lines and at least {length} bytes")
    } else {
        format!("a line of {length} bytes")
    };
    format!(
        "{what} is longer than the line limit ({limit} bytes, --max-line-bytes); skipped (one-line EventLists this large can be split: jq -c '.items[]')"
    )
}

/// Decodes blocks of lines with fixed options (see the module comment for the contract).
#[derive(Clone, Copy, Debug, Default)]
pub struct Decoder<'a> {
    options: DecodeOptions<'a>,
}

impl<'a> Decoder<'a> {
    pub fn new(options: DecodeOptions<'a>) -> Decoder<'a> {
        Decoder { options }
    }

    /// Decodes `text`, whole lines of one input whose first is line `first_line`, counting
    /// in `report` and handing events to `sink`. Only `strict` decoding returns an error.
    pub fn decode_block(
        &self,
        text: &[u8],
        first_line: u64,
        report: &mut FileReport,
        sink: &mut dyn Sink,
    ) -> Result<()> {
        let mut pass = Pass {
            report,
            strict: self.options.strict,
            sink,
        };
        let mut framing = Framing::default();
        let mut document: Option<Document> = None;
        let max_line = self.options.max_line();
        let mut last_line = first_line;
        for (line_no, raw) in (first_line..).zip(framing::lines(text)) {
            let line = framing::strip_line_end(raw);
            last_line = line_no;
            // A line over the limit outside documents is skipped before it could open
            // one, as the reader does with a line it cannot hold.
            if !framing.in_document() && line_length(raw) > max_line as u64 {
                let detail = too_long_detail(1, line_length(raw), max_line);
                pass.skip(line_no, TOO_LONG, detail)?;
                continue;
            }
            match framing.line(line) {
                Frame::Blank => {}
                Frame::Line => pass.line(line, line_no, self.options.prefilter)?,
                Frame::Document { opens, closes } => {
                    let doc = document.get_or_insert_with(|| Document::new(line_no));
                    debug_assert!(opens == (doc.start_line == line_no));
                    doc.text.extend_from_slice(line);
                    doc.text.push(b'\n');
                    doc.length += raw.len() as u64;
                    doc.ends_line = raw.last() == Some(&b'\n');
                    if closes {
                        if let Some(doc) = document.take() {
                            pass.whole_document(doc, line_no, max_line)?;
                        }
                    }
                }
            }
        }
        match document {
            Some(doc) => pass.whole_document(doc, last_line, max_line),
            None => Ok(()),
        }
    }
}

impl Decoder<'_> {
    /// Counts a line (or a document of `lines` lines) of `length` bytes that the reader
    /// dropped unread because it is longer than `limit` (see [`crate::read::blocks`]), as a
    /// skipped line at `first_line`, as [`Decoder::decode_block`] counts one it holds;
    /// with strict input it is the error instead.
    pub fn too_long(
        &self,
        first_line: u64,
        lines: u64,
        length: u64,
        limit: usize,
        report: &mut FileReport,
    ) -> Result<()> {
        let detail = too_long_detail(lines, length, limit);
        skip(report, self.options.strict, first_line, TOO_LONG, detail)
    }
}

/// The class of lines over the line limit.
const TOO_LONG: &str = "line too long";

/// Counts an unusable line (or event) by its class and keeps the first few as examples;
/// with strict input it is the error instead.
fn skip(
    report: &mut FileReport,
    strict: bool,
    line_no: u64,
    class: &str,
    detail: String,
) -> Result<()> {
    if strict {
        return Err(Error::input(&report.name, Some(line_no), detail));
    }
    *report.skipped.entry(class.to_string()).or_default() += 1;
    if report.examples.len() < EXAMPLES_PER_FILE {
        report.examples.push((line_no, detail));
    }
    Ok(())
}

/// The message for a read error that ends an input early.
pub fn read_error_message(lines: u64, bytes: u64, e: &dyn std::fmt::Display) -> String {
    format!("input ends early after line {lines} (byte {bytes} of the decompressed stream): {e}")
}

/// The reason given for a line that looks like YAML.
const YAML_DETAIL: &str =
    "invalid JSON: this looks like YAML; audit logs are read as JSON (convert with: yq -o=json -I=0 '.' FILE)";

/// Whether a line that is not JSON looks like YAML (`key: value`, `- item`, `---`).
fn looks_like_yaml(text: &str) -> bool {
    let t = text.trim_start();
    if t.starts_with("---") || t.starts_with("- ") {
        return true;
    }
    match t.split_once(':') {
        Some((key, rest)) => {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
                && (rest.is_empty() || rest.starts_with(' '))
        }
        None => false,
    }
}

/// The reason for a JSON array whose first item is not an object (`[[[...`, `[1,2]`):
/// serde's own message names the type deep inside, not what is wrong with the line.
fn array_of_non_events(text: &str) -> Option<String> {
    let inner = text.trim_start().strip_prefix('[')?.trim_start();
    let what = match inner.bytes().next()? {
        b'[' => "arrays",
        b'"' => "strings",
        b'{' | b']' => return None,
        b't' | b'f' => "booleans",
        b'n' => "nulls",
        _ => "numbers",
    };
    Some(format!(
        "wrong field type: a JSON array of {what}, where audit events (objects) are expected"
    ))
}

/// Where a document was found: a cloud export record is unwrapped only at the top (of a
/// line, a list or a batch); what a record holds must be a native event.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Top,
    InCloudRecord,
}

/// One block being decoded: the report counting it, and the sink its events go to.
struct Pass<'r> {
    report: &'r mut FileReport,
    strict: bool,
    sink: &'r mut dyn Sink,
}

impl Pass<'_> {
    /// Counts an unusable line (or event) by its class and keeps the first few as
    /// examples; with strict input it is the error instead.
    fn skip(&mut self, line_no: u64, class: &str, detail: String) -> Result<()> {
        skip(self.report, self.strict, line_no, class, detail)
    }

    /// A document whose last line is `last_line`: decoded, or skipped when its raw bytes
    /// (without its last `\n`) are more than `max_line`.
    fn whole_document(&mut self, doc: Document, last_line: u64, max_line: usize) -> Result<()> {
        let lines = last_line - doc.start_line + 1;
        let length = doc.length - u64::from(doc.ends_line);
        if length > max_line as u64 {
            let detail = too_long_detail(lines, length, max_line);
            return self.skip(doc.start_line, TOO_LONG, detail);
        }
        self.document(doc)
    }

    /// A line outside documents (not blank): prefiltered, or decoded.
    fn line(&mut self, line: &[u8], line_no: u64, prefilter: Option<&Prefilter>) -> Result<()> {
        if let Some(p) = prefilter {
            if !p.may_mention(line) {
                // Not parsed when it can be a whole JSON object; any other line (damage,
                // or an array) is decoded as without a prefilter, so that damage stays
                // visible when one subject is asked for, with the same reason.
                let trimmed = line.trim_ascii();
                if trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}') {
                    self.report.prefiltered += 1;
                    return Ok(());
                }
            }
        }
        self.value(line, line_no)
    }

    /// Decodes one complete JSON text (a line or a document) and hands out its events.
    fn value(&mut self, text: &[u8], line_no: u64) -> Result<()> {
        let text = match line_str(text) {
            Ok(t) => t,
            Err(e) => {
                let detail = format!("invalid UTF-8 at byte {}", e.valid_up_to());
                return self.skip(line_no, "invalid UTF-8", detail);
            }
        };
        if text.trim_start().starts_with('{') {
            let mut doc = EventDoc::default();
            if scan::scan_event_into(text, &mut doc, self.strict) {
                return self.event(&doc, None, line_no);
            }
        }
        if text.len() >= items::STREAM_AT && self.list_item_by_item(text, line_no)? {
            return Ok(());
        }
        let parsed = match record::parse(text) {
            Ok(d) => d,
            Err(e) => {
                if e.classify() == serde_json::error::Category::Syntax {
                    // Objects back to back with nothing between (Firehose writes CloudWatch
                    // subscription batches to S3 so): each is decoded on its own.
                    if let Some(docs) = back_to_back(text) {
                        for doc in docs {
                            self.dispatch(doc, None, line_no, Place::Top)?;
                        }
                        return Ok(());
                    }
                }
                if e.classify() == serde_json::error::Category::Data {
                    // A single CloudWatch Logs event (`{"timestamp":1700000000000,"message":"..."}`,
                    // as `jq -c '.events[]'` prints them): its number `timestamp` is not an event's.
                    if let Some(record) = eks::single_record(text) {
                        let message = record.message.as_deref();
                        let origin =
                            eks::origin("CloudWatch log event", record.log_stream_name.as_deref());
                        return self.embedded(message, &origin, line_no);
                    }
                }
                let class = match e.classify() {
                    serde_json::error::Category::Data => "wrong field type",
                    _ => "invalid JSON",
                };
                if class == "invalid JSON" && looks_like_yaml(text) {
                    return self.skip(line_no, class, YAML_DETAIL.to_string());
                }
                if let Some(detail) = array_of_non_events(text).filter(|_| class != "invalid JSON")
                {
                    return self.skip(line_no, class, detail);
                }
                return self.skip(line_no, class, format!("{class}: {e}"));
            }
        };
        for doc in parsed.into_records() {
            self.dispatch(doc, None, line_no, Place::Top)?;
        }
        Ok(())
    }

    /// Hands out the events of one decoded record: an event, a list, or (at the top) a
    /// cloud envelope.
    /// A long one-line list decoded one item at a time (see [`items`]), with the result
    /// the whole line's parse gives: only when the list's other fields and every item parse
    /// on their own (checked first, each item parsed and dropped); `Ok(false)` when the
    /// line is to be decoded whole instead.
    fn list_item_by_item(&mut self, text: &str, line_no: u64) -> Result<bool> {
        let Some((ranges, shell)) = items::split_items(text) else {
            return Ok(false);
        };
        let Ok(record::Parsed::One(list)) = record::parse(&shell) else {
            return Ok(false);
        };
        let kind = list.kind.as_deref().unwrap_or("");
        let empty_items = list.items.as_ref().is_some_and(|v| v.is_empty());
        if !matches!(kind, "EventList" | "List" | "") || !empty_items {
            return Ok(false);
        }
        let one = |r: &std::ops::Range<usize>| match record::parse(&text[r.clone()]) {
            Ok(record::Parsed::One(item)) => Some(item),
            _ => None,
        };
        if !ranges.iter().all(|r| one(r).is_some()) {
            return Ok(false);
        }
        let version = list.api_version.as_deref();
        for r in &ranges {
            if let Some(item) = one(r) {
                self.dispatch(item, version, line_no, Place::Top)?;
            }
        }
        Ok(true)
    }

    fn dispatch(
        &mut self,
        mut doc: Record<'_>,
        inherited_version: Option<&str>,
        line_no: u64,
        place: Place,
    ) -> Result<()> {
        let kind = doc.kind.as_deref().unwrap_or("");
        if matches!(kind, "EventList" | "List" | "") {
            if let Some(items) = doc.items.take() {
                let version = doc.api_version.as_deref().or(inherited_version);
                for item in items {
                    self.dispatch(item, version, line_no, place)?;
                }
                return Ok(());
            }
        }
        if doc.verb.is_none() && doc.kind.is_none() && doc.has_wrapper() {
            if place == Place::InCloudRecord {
                return self.skip(
                    line_no,
                    "not an audit event",
                    "not an audit event (a cloud export record inside another)".to_string(),
                );
            }
            return self.cloud(doc, line_no);
        }
        self.event(&doc.into_event(), inherited_version, line_no)
    }

    /// A native event: to the sink, unless it is of another kind.
    fn event(
        &mut self,
        event: &EventDoc<'_>,
        inherited_version: Option<&str>,
        line_no: u64,
    ) -> Result<()> {
        let kind = event.kind.as_deref().unwrap_or("");
        if !(kind.is_empty() || kind == "Event") {
            return self.skip(
                line_no,
                "not an audit event",
                format!("not an audit event (kind {kind:?})"),
            );
        }
        match self.sink.event(event, inherited_version, line_no) {
            Ok(()) => {
                self.report.events += 1;
                Ok(())
            }
            Err(u) => self.skip(line_no, u.class, u.detail),
        }
    }

    /// A GKE, EKS or AKS export record (see the `gke`, `eks` and `aks` modules): each event
    /// it holds is handed out as a native event.
    fn cloud(&mut self, doc: Record<'_>, line_no: u64) -> Result<()> {
        if let Some(entry) = doc.gke_entry() {
            return match gke::to_event(&entry) {
                Ok(event) => self.event(&event, None, line_no),
                Err(u) => self.skip(line_no, u.class, u.detail),
            };
        }
        if let Some(records) = doc.records {
            for record in records {
                self.dispatch(record, None, line_no, Place::Top)?;
            }
            return Ok(());
        }
        if doc.message_type.is_some() || doc.log_events.is_some() {
            if eks::is_control_message(doc.message_type.as_deref()) {
                return self.skip(
                    line_no,
                    "CloudWatch control message",
                    "CloudWatch Logs subscription CONTROL_MESSAGE (holds no log events)"
                        .to_string(),
                );
            }
            for event in doc.log_events.iter().flatten() {
                let origin = "CloudWatch subscription log event";
                self.embedded(event.message.as_deref(), origin, line_no)?;
            }
            return Ok(());
        }
        if let Some(events) = &doc.events {
            for event in events {
                let origin = eks::origin("CloudWatch log event", event.log_stream_name.as_deref());
                self.embedded(event.message.as_deref(), &origin, line_no)?;
            }
            return Ok(());
        }
        if let Some(message) = &doc.at_message {
            let origin = "CloudWatch Logs Insights @message";
            return self.embedded(Some(message), origin, line_no);
        }
        if doc.category.is_some() || doc.properties.is_some() {
            if let Some(why) = aks::category_problem(doc.category.as_deref()) {
                return self.skip(line_no, "not an audit category", why);
            }
            return match doc.properties.and_then(|p| p.log) {
                Some(aks::LogValue::Text(text)) => {
                    self.embedded(Some(&text), "AKS properties.log", line_no)
                }
                Some(aks::LogValue::Event(event)) => {
                    self.dispatch(*event, None, line_no, Place::InCloudRecord)
                }
                None => self.skip(
                    line_no,
                    "no event",
                    "AKS record has no properties.log".to_string(),
                ),
            };
        }
        self.embedded(doc.message.as_deref(), "CloudWatch record message", line_no)
    }

    /// Decodes the native event that a cloud record holds as a JSON string, exactly as a
    /// native line is decoded (the scanner first, then serde_json).
    fn embedded(&mut self, text: Option<&str>, origin: &str, line_no: u64) -> Result<()> {
        let Some(text) = text else {
            return self.skip(line_no, "no event", format!("{origin}: no message"));
        };
        if !text.trim_start().starts_with('{') {
            let shown: String = text.chars().take(60).collect();
            let detail = format!("{origin} is not a JSON audit event: {shown:?}");
            return self.skip(line_no, "message not an audit event", detail);
        }
        let mut doc = EventDoc::default();
        if scan::scan_event_into(text, &mut doc, self.strict) {
            return self.event(&doc, None, line_no);
        }
        match serde_json::from_str::<Record<'_>>(text) {
            Ok(doc) => self.dispatch(doc, None, line_no, Place::InCloudRecord),
            Err(e) => {
                let class = match e.classify() {
                    serde_json::error::Category::Data => "wrong field type",
                    _ => "message not an audit event",
                };
                let detail = format!("{origin} is not a JSON audit event: {e}");
                self.skip(line_no, class, detail)
            }
        }
    }

    /// Decodes a collected document; when it is not valid JSON, its lines are tried one by
    /// one so that JSON lines after a stray bracket are not lost.
    fn document(&mut self, doc: Document) -> Result<()> {
        let whole_ok = std::str::from_utf8(&doc.text)
            .ok()
            .is_some_and(|t| record::parse(t).is_ok());
        if whole_ok {
            return self.value(&doc.text, doc.start_line);
        }
        for (line_no, line) in (doc.start_line..).zip(doc.text.split(|&c| c == b'\n')) {
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            if line_no == doc.start_line && (trimmed == b"{" || trimmed == b"[") {
                let detail = "invalid JSON: a document opened here never forms a valid JSON value";
                self.skip(line_no, "invalid JSON", detail.to_string())?;
            } else {
                self.value(line, line_no)?;
            }
        }
        Ok(())
    }
}

/// A multi-line JSON document being collected: its first line number and its lines.
struct Document {
    start_line: u64,
    text: Vec<u8>,
    /// Raw bytes of its lines, line ends included, and whether the last ends with `\n`.
    length: u64,
    ends_line: bool,
}

impl Document {
    fn new(start_line: u64) -> Document {
        Document {
            start_line,
            text: Vec::new(),
            length: 0,
            ends_line: false,
        }
    }
}

/// The bytes of a raw line before its final `\n`.
pub fn line_length(raw: &[u8]) -> u64 {
    (raw.len() - usize::from(raw.last() == Some(&b'\n'))) as u64
}

/// `bytes` as text, when UTF-8: audit lines are nearly always ASCII, which is checked 64
/// bytes at a time before the full UTF-8 validation is asked for.
fn line_str(bytes: &[u8]) -> std::result::Result<&str, std::str::Utf8Error> {
    if is_ascii(bytes) {
        // SAFETY: ASCII bytes are valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// Whether every byte is below 0x80: 64 bytes per step, the bytes ORed together and their
/// high bits tested once.
fn is_ascii(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    for chunk in &mut chunks {
        let mut any = 0u64;
        for word in chunk.chunks_exact(8) {
            any |= u64::from_le_bytes(word.try_into().unwrap_or([0xff; 8]));
        }
        if any & 0x8080_8080_8080_8080 != 0 {
            return false;
        }
    }
    chunks.remainder().is_ascii()
}

/// Two or more JSON objects back to back (`{...}{...}`), when every one decodes.
fn back_to_back(text: &str) -> Option<Vec<Record<'_>>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let docs = serde_json::Deserializer::from_str(text)
        .into_iter::<Record<'_>>()
        .collect::<std::result::Result<Vec<_>, _>>()
        .ok()?;
    (docs.len() > 1).then_some(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verbs_of(input: &str) -> (Vec<(String, u64)>, FileReport) {
        let mut seen = Vec::new();
        let mut report = FileReport::default();
        crate::read::blocks::decode_stream(
            input.as_bytes(),
            &DecodeOptions::default(),
            &mut report,
            &mut sink_fn(|e, _v, line| {
                seen.push((e.verb.as_deref().unwrap_or("").to_string(), line));
                Ok(())
            }),
        )
        .unwrap();
        (seen, report)
    }

    #[test]
    fn a_long_one_line_list_is_decoded_item_by_item_as_a_whole_parse_would() {
        let item = |i: usize| {
            format!(
                r#"{{"kind":"Event","verb":"v{}","user":{{"username":"u"}},"requestURI":"/x","pad":"{}"}}"#,
                i % 7,
                "p".repeat(200)
            )
        };
        let n = items::STREAM_AT / 200 + 10;
        let items: Vec<String> = (0..n).map(item).collect();
        let list = format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}}"#,
            items.join(",")
        );
        assert!(list.len() >= items::STREAM_AT);
        let (seen, report) = verbs_of(&format!("{list}\n"));
        let want: Vec<(String, u64)> = (0..n).map(|i| (format!("v{}", i % 7), 1)).collect();
        assert_eq!(seen, want);
        assert_eq!((report.events, report.skipped_total()), (n as u64, 0));
        // A damaged item: the line is decoded whole, with the whole line's reason.
        let bad = list.replacen(r#""verb":"v3""#, r#""verb":3"#, 1);
        let (seen, report) = verbs_of(&format!("{bad}\n"));
        assert!(seen.is_empty());
        assert_eq!(
            report.skipped.get("wrong field type"),
            Some(&1),
            "{report:?}"
        );
    }

    #[test]
    fn line_str_agrees_with_from_utf8() {
        let mut bytes: Vec<u8> = b"{\"verb\":\"get\"} ".repeat(20);
        let texts = ["é", "\u{2028}", "😀", "\u{7f}"];
        for cut in 0..bytes.len() {
            for text in texts {
                let mut b = bytes[..cut].to_vec();
                b.extend_from_slice(text.as_bytes());
                b.extend_from_slice(&bytes[cut..]);
                assert_eq!(line_str(&b), std::str::from_utf8(&b));
                // Invalid: a lone continuation byte, a cut sequence, an overlong form.
                for bad in [&[0x80u8][..], &[0xe2, 0x80], &[0xc0, 0xaf]] {
                    let mut b = b.clone();
                    b.splice(cut..cut, bad.iter().copied());
                    assert_eq!(line_str(&b), std::str::from_utf8(&b));
                    assert!(line_str(&b).is_err());
                }
            }
        }
        bytes.clear();
        assert_eq!(line_str(&bytes), Ok(""));
    }

    #[test]
    fn json_lines_with_bad_lines_between() {
        let (seen, report) =
            verbs_of("{\"verb\":\"get\"}\nnot json\n\n{\"verb\":\"list\"}\r\n{\"verb\":");
        assert_eq!(seen, vec![("get".into(), 1), ("list".into(), 4)]);
        assert_eq!(report.skipped_total(), 2);
        assert_eq!(report.examples[0].0, 2);
        assert_eq!(report.examples[1].0, 5);
    }

    #[test]
    fn pretty_printed_event_list_and_arrays() {
        let text = "{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1alpha1\",\n  \"items\": [\n    {\"verb\": \"get\"},\n    {\"verb\": \"delete\"}\n  ]\n}\n[{\"verb\":\"a\"},{\"verb\":\"b\"}]\n";
        let (seen, report) = verbs_of(text);
        assert_eq!(
            seen,
            vec![
                ("get".into(), 1),
                ("delete".into(), 1),
                ("a".into(), 9),
                ("b".into(), 9)
            ]
        );
        assert_eq!(report.skipped_total(), 0);
    }

    #[test]
    fn broken_document_falls_back_to_lines() {
        let (seen, report) = verbs_of("[\n{\"verb\":\"get\"}\n{\"verb\":\"list\"}\n");
        assert_eq!(seen, vec![("get".into(), 2), ("list".into(), 3)]);
        assert_eq!(report.skipped_total(), 1);
    }

    #[test]
    fn bom_and_other_kinds() {
        let (seen, report) = verbs_of("\u{feff}{\"verb\":\"get\"}\n{\"kind\":\"Status\"}\n");
        assert_eq!(seen.len(), 1);
        assert_eq!(report.skipped.get("not an audit event"), Some(&1));
    }
}
