//! Decoding: turns the lines of one input into audit events. JSON lines are the fast path;
//! a line that is exactly `{` or `[` opens a pretty-printed document (an EventList, a List or
//! an array) that runs until its brackets close. Unusable lines are counted per reason, with
//! the first few kept as examples, and never stop the run unless `--strict-input` is given.

pub mod cloud;
pub mod native;
pub mod scan;

use crate::error::{Error, Result};
use crate::read::{self, Source};
use cloud::{aks, eks, gke};
use native::EventDoc;
use std::collections::BTreeMap;
use std::io::BufRead;

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
}

impl FileReport {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Adds the counts of `other`, a later piece of the same input whose line numbers are
    /// relative to `line_base` (the lines before it).
    pub fn absorb(&mut self, other: FileReport, line_base: u64) {
        self.bytes += other.bytes;
        self.lines += other.lines;
        self.events += other.events;
        self.prefiltered += other.prefiltered;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        for (line, reason) in other.examples {
            if self.examples.len() < EXAMPLES_PER_FILE {
                self.examples.push((line + line_base, reason));
            }
        }
    }

    fn skip(&mut self, line: u64, class: &str, detail: String, strict: bool) -> Result<()> {
        if strict {
            return Err(Error::input(&self.name, Some(line), detail));
        }
        *self.skipped.entry(class.to_string()).or_default() += 1;
        if self.examples.len() < EXAMPLES_PER_FILE {
            self.examples.push((line, detail));
        }
        Ok(())
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

/// Reads every event of `source`, calling `on_event(event, list_api_version, line)` for
/// each, skipping lines `prefilter` rules out. `list_api_version` is the apiVersion of the
/// enclosing EventList, which items without their own inherit. The callback's `Err` marks
/// the event unusable (counted and reported).
pub fn read_events_with<F>(
    src: &Source,
    strict: bool,
    prefilter: Option<&Prefilter>,
    mut on_event: F,
) -> Result<FileReport>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    let reader = read::open(src)?;
    let mut report = FileReport {
        name: src.name.clone(),
        ..FileReport::default()
    };
    read_lines_with(reader, &mut report, strict, prefilter, &mut on_event)?;
    if strict {
        if let Some(e) = &report.read_error {
            return Err(Error::input(&src.name, None, e.clone()));
        }
    }
    Ok(report)
}

/// The line loop, separate from opening so that tests can feed bytes.
pub fn read_lines<R: BufRead, F>(
    reader: R,
    report: &mut FileReport,
    strict: bool,
    on_event: &mut F,
) -> Result<()>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    read_lines_with(reader, report, strict, None, on_event)
}

/// The line loop with an optional subject prefilter (see [`Prefilter`]).
pub fn read_lines_with<R: BufRead, F>(
    mut reader: R,
    report: &mut FileReport,
    strict: bool,
    prefilter: Option<&Prefilter>,
    on_event: &mut F,
) -> Result<()>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut decoder = LineDecoder::new(prefilter);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(n) => report.bytes += n as u64,
            Err(e) => {
                report.read_error = Some(read_error_message(report.lines, report.bytes, &e));
                break;
            }
        }
        report.lines += 1;
        decoder.feed(&buf, report.lines, report, strict, false, on_event)?;
    }
    decoder.finish(report, strict, on_event)
}

/// The message for a read error that ends an input early.
pub fn read_error_message(lines: u64, bytes: u64, e: &dyn std::fmt::Display) -> String {
    format!("input ends early after line {lines} (byte {bytes} of the decompressed stream): {e}")
}

/// Whether `line` (BOM and line end already stripped) opens a multi-line document: a line
/// that is exactly `{` or `[`, or an array that starts on this line and goes on past it
/// (`[{...},`). A cut-off object line does not open one: it is reported and skipped.
pub(crate) fn opens_document(line: &[u8]) -> bool {
    let trimmed = line.trim_ascii();
    if trimmed == b"{" || trimmed == b"[" {
        return true;
    }
    trimmed.first() == Some(&b'[')
        && std::str::from_utf8(trimmed)
            .ok()
            .is_some_and(|t| native::parse(t).err().is_some_and(|e| e.is_eof()))
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

/// Decodes lines one at a time, carrying the state of an open multi-line document from one
/// line to the next, so that a stream can be fed in pieces.
pub struct LineDecoder<'p> {
    document: Option<Document>,
    prefilter: Option<&'p Prefilter>,
}

impl<'p> LineDecoder<'p> {
    pub fn new(prefilter: Option<&'p Prefilter>) -> LineDecoder<'p> {
        LineDecoder {
            document: None,
            prefilter,
        }
    }

    /// True while a multi-line document is open.
    pub fn in_document(&self) -> bool {
        self.document.is_some()
    }

    /// Feeds line `line_no` (with or without its line end). With `stop_at_document`, a line
    /// that would open a document is not consumed and `Ok(false)` is returned.
    pub fn feed<F>(
        &mut self,
        raw: &[u8],
        line_no: u64,
        report: &mut FileReport,
        strict: bool,
        stop_at_document: bool,
        on_event: &mut F,
    ) -> Result<bool>
    where
        F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
    {
        let mut line: &[u8] = raw;
        if line_no == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        if let Some(doc) = self.document.as_mut() {
            doc.push(line);
            if doc.closed() {
                let doc = self.document.take().unwrap_or_default();
                finish_document(doc, report, strict, on_event)?;
            }
            return Ok(true);
        }
        if line.trim_ascii().is_empty() {
            return Ok(true);
        }
        if opens_document(line) {
            if stop_at_document {
                return Ok(false);
            }
            let mut doc = Document::new(line_no);
            doc.push(line);
            self.document = Some(doc);
            return Ok(true);
        }
        if let Some(p) = self.prefilter {
            if !p.may_mention(line) {
                // Not parsed, but a line that cannot be a whole JSON object is still
                // reported, so damage stays visible when one subject is asked for.
                let trimmed = line.trim_ascii();
                if trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}') {
                    report.prefiltered += 1;
                    return Ok(true);
                }
                let detail = match std::str::from_utf8(line) {
                    Ok(t) if looks_like_yaml(t) => YAML_DETAIL,
                    _ => "invalid JSON: not a complete JSON object",
                };
                report.skip(line_no, "invalid JSON", detail.to_string(), strict)?;
                return Ok(true);
            }
        }
        handle_value(line, line_no, report, strict, on_event)?;
        Ok(true)
    }

    /// Ends the input: a document still open is decoded (or its lines tried one by one).
    pub fn finish<F>(
        &mut self,
        report: &mut FileReport,
        strict: bool,
        on_event: &mut F,
    ) -> Result<()>
    where
        F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
    {
        if let Some(doc) = self.document.take() {
            finish_document(doc, report, strict, on_event)?;
        }
        Ok(())
    }
}

/// Skips lines that cannot mention any of some subject names, without decoding them.
///
/// A JSON string spells a name either with its raw bytes or with at least one escape
/// sequence that decodes to one of the name's characters. So a line is kept when it holds
/// a name's raw bytes, or any escape that could stand for a character of some name (`\u`
/// escapes are decoded and compared; a surrogate escape and an escaped backslash, which may
/// open an escape inside a JSON string nested in a string, are always kept). Lines not kept
/// cannot contribute to these subjects; they are counted as `prefiltered`.
#[derive(Clone, Debug)]
pub struct Prefilter {
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// Every character of every name.
    chars: Vec<char>,
}

impl Prefilter {
    /// `None` when there is nothing to filter on (no names, or an empty name).
    pub fn new(names: &[String]) -> Option<Prefilter> {
        if names.is_empty() || names.iter().any(|n| n.is_empty()) {
            return None;
        }
        let finders = names
            .iter()
            .map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned())
            .collect();
        let mut chars: Vec<char> = names.iter().flat_map(|n| n.chars()).collect();
        chars.sort_unstable();
        chars.dedup();
        Some(Prefilter { finders, chars })
    }

    /// False only when `line` cannot spell any of the names.
    pub fn may_mention(&self, line: &[u8]) -> bool {
        if self.finders.iter().any(|f| f.find(line).is_some()) {
            return true;
        }
        let mut rest = line;
        while let Some(i) = memchr::memchr(b'\\', rest) {
            let Some(&kind) = rest.get(i + 1) else {
                return true;
            };
            let decoded = match kind {
                b'u' => {
                    let Some(hex) = rest.get(i + 2..i + 6) else {
                        return true;
                    };
                    let Some(code) = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                    else {
                        return true;
                    };
                    match char::from_u32(code) {
                        Some(c) => c,
                        None => return true, // a surrogate: part of a pair, keep the line
                    }
                }
                b'"' => '"',
                // An escaped backslash may start an escape of a JSON string nested in a
                // string (EKS `message`, AKS `properties.log`): `\\u003c` is `<` there.
                b'\\' => return true,
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                _ => return true,
            };
            if self.chars.binary_search(&decoded).is_ok() {
                return true;
            }
            let len = if kind == b'u' { 6 } else { 2 };
            rest = &rest[i + len..];
        }
        false
    }
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

/// Decodes one complete JSON text (a line or a document) and hands out its events.
fn handle_value<F>(
    text: &[u8],
    line_no: u64,
    report: &mut FileReport,
    strict: bool,
    on_event: &mut F,
) -> Result<()>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    let text = match line_str(text) {
        Ok(t) => t,
        Err(e) => {
            return report.skip(
                line_no,
                "invalid UTF-8",
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                strict,
            )
        }
    };
    if text.trim_start().starts_with('{') {
        let mut doc = EventDoc::default();
        if scan::scan_event_into(text, &mut doc, strict) {
            return dispatch(&doc, None, line_no, report, strict, true, on_event);
        }
    }
    let parsed = match native::parse(text) {
        Ok(d) => d,
        Err(e) => {
            if e.classify() == serde_json::error::Category::Syntax {
                // Objects back to back with nothing between (Firehose writes CloudWatch
                // subscription batches to S3 so): each is decoded on its own.
                if let Some(docs) = back_to_back(text) {
                    for doc in &docs {
                        dispatch(doc, None, line_no, report, strict, true, on_event)?;
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
                    return dispatch_embedded(message, &origin, line_no, report, strict, on_event);
                }
            }
            let class = match e.classify() {
                serde_json::error::Category::Data => "wrong field type",
                _ => "invalid JSON",
            };
            if class == "invalid JSON" && looks_like_yaml(text) {
                return report.skip(line_no, class, YAML_DETAIL.to_string(), strict);
            }
            return report.skip(line_no, class, format!("{class}: {e}"), strict);
        }
    };
    for doc in parsed.docs() {
        dispatch(doc, None, line_no, report, strict, true, on_event)?;
    }
    Ok(())
}

/// Two or more JSON objects back to back (`{...}{...}`), when every one decodes.
fn back_to_back(text: &str) -> Option<Vec<EventDoc<'_>>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let docs = serde_json::Deserializer::from_str(text)
        .into_iter::<EventDoc<'_>>()
        .collect::<std::result::Result<Vec<_>, _>>()
        .ok()?;
    (docs.len() > 1).then_some(docs)
}

/// Hands out the events of one decoded document: an event, a list, or (when `wrappers`) a
/// cloud export record. Events embedded in a cloud record are dispatched with `wrappers`
/// off: they must be native events.
fn dispatch<F>(
    doc: &EventDoc<'_>,
    inherited_version: Option<&str>,
    line_no: u64,
    report: &mut FileReport,
    strict: bool,
    wrappers: bool,
    on_event: &mut F,
) -> Result<()>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    let kind = doc.kind.as_deref().unwrap_or("");
    if let Some(items) = &doc.items {
        if matches!(kind, "EventList" | "List" | "") {
            let version = doc.api_version.as_deref().or(inherited_version);
            for item in items {
                dispatch(item, version, line_no, report, strict, wrappers, on_event)?;
            }
            return Ok(());
        }
    }
    if doc.verb.is_none() && doc.kind.is_none() && doc.has_wrapper() {
        if !wrappers {
            return report.skip(
                line_no,
                "not an audit event",
                "not an audit event (a cloud export record inside another)".to_string(),
                strict,
            );
        }
        return dispatch_cloud(doc, line_no, report, strict, on_event);
    }
    if !(kind.is_empty() || kind == "Event") {
        return report.skip(
            line_no,
            "not an audit event",
            format!("not an audit event (kind {kind:?})"),
            strict,
        );
    }
    match on_event(doc, inherited_version, line_no) {
        Ok(()) => {
            report.events += 1;
            Ok(())
        }
        Err(u) => report.skip(line_no, u.class, u.detail, strict),
    }
}

/// A GKE, EKS or AKS export record (see the `gke`, `eks` and `aks` modules): each event it
/// holds is dispatched as a native event.
fn dispatch_cloud<F>(
    doc: &EventDoc<'_>,
    line_no: u64,
    report: &mut FileReport,
    strict: bool,
    on_event: &mut F,
) -> Result<()>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    if let Some(payload) = &doc.proto_payload {
        return match gke::to_event(doc, payload) {
            Ok(event) => dispatch(&event, None, line_no, report, strict, false, on_event),
            Err(u) => report.skip(line_no, u.class, u.detail, strict),
        };
    }
    if let Some(records) = &doc.records {
        for record in records {
            dispatch(record, None, line_no, report, strict, true, on_event)?;
        }
        return Ok(());
    }
    if doc.message_type.is_some() || doc.log_events.is_some() {
        if eks::is_control_message(doc.message_type.as_deref()) {
            return report.skip(
                line_no,
                "CloudWatch control message",
                "CloudWatch Logs subscription CONTROL_MESSAGE (holds no log events)".to_string(),
                strict,
            );
        }
        for event in doc.log_events.iter().flatten() {
            let origin = "CloudWatch subscription log event";
            let message = event.message.as_deref();
            dispatch_embedded(message, origin, line_no, report, strict, on_event)?;
        }
        return Ok(());
    }
    if let Some(events) = &doc.events {
        for event in events {
            let origin = eks::origin("CloudWatch log event", event.log_stream_name.as_deref());
            let message = event.message.as_deref();
            dispatch_embedded(message, &origin, line_no, report, strict, on_event)?;
        }
        return Ok(());
    }
    if let Some(message) = &doc.at_message {
        let origin = "CloudWatch Logs Insights @message";
        return dispatch_embedded(Some(message), origin, line_no, report, strict, on_event);
    }
    if doc.category.is_some() || doc.properties.is_some() {
        if let Some(why) = aks::category_problem(doc.category.as_deref()) {
            return report.skip(line_no, "not an audit category", why, strict);
        }
        return match doc.properties.as_ref().and_then(|p| p.log.as_ref()) {
            Some(aks::LogValue::Text(text)) => {
                let origin = "AKS properties.log";
                dispatch_embedded(Some(text), origin, line_no, report, strict, on_event)
            }
            Some(aks::LogValue::Event(event)) => {
                dispatch(event, None, line_no, report, strict, false, on_event)
            }
            None => report.skip(
                line_no,
                "no event",
                "AKS record has no properties.log".to_string(),
                strict,
            ),
        };
    }
    let message = doc.message.as_deref();
    dispatch_embedded(
        message,
        "CloudWatch record message",
        line_no,
        report,
        strict,
        on_event,
    )
}

/// Decodes the native event that a cloud record holds as a JSON string, exactly as a native
/// line is decoded (the scanner first, then serde_json).
fn dispatch_embedded<F>(
    text: Option<&str>,
    origin: &str,
    line_no: u64,
    report: &mut FileReport,
    strict: bool,
    on_event: &mut F,
) -> Result<()>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    let Some(text) = text else {
        return report.skip(line_no, "no event", format!("{origin}: no message"), strict);
    };
    if !text.trim_start().starts_with('{') {
        let shown: String = text.chars().take(60).collect();
        let detail = format!("{origin} is not a JSON audit event: {shown:?}");
        return report.skip(line_no, "message not an audit event", detail, strict);
    }
    let mut doc = EventDoc::default();
    if scan::scan_event_into(text, &mut doc, strict) {
        return dispatch(&doc, None, line_no, report, strict, false, on_event);
    }
    match serde_json::from_str::<EventDoc<'_>>(text) {
        Ok(doc) => dispatch(&doc, None, line_no, report, strict, false, on_event),
        Err(e) => {
            let class = match e.classify() {
                serde_json::error::Category::Data => "wrong field type",
                _ => "message not an audit event",
            };
            let detail = format!("{origin} is not a JSON audit event: {e}");
            report.skip(line_no, class, detail, strict)
        }
    }
}

/// A multi-line JSON document being collected until its outer brackets close.
#[derive(Default)]
struct Document {
    start_line: u64,
    text: Vec<u8>,
    depth: i64,
    in_string: bool,
    escaped: bool,
    seen_open: bool,
}

impl Document {
    fn new(start_line: u64) -> Document {
        Document {
            start_line,
            ..Document::default()
        }
    }

    fn push(&mut self, line: &[u8]) {
        for &c in line {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    self.seen_open = true;
                }
                b'}' | b']' => self.depth -= 1,
                _ => {}
            }
        }
        self.text.extend_from_slice(line);
        self.text.push(b'\n');
    }

    fn closed(&self) -> bool {
        self.seen_open && self.depth <= 0 && !self.in_string
    }
}

/// Decodes a collected document; when it is not valid JSON, its lines are tried one by one
/// so that JSON lines after a stray bracket are not lost.
fn finish_document<F>(
    doc: Document,
    report: &mut FileReport,
    strict: bool,
    on_event: &mut F,
) -> Result<()>
where
    F: FnMut(&EventDoc<'_>, Option<&str>, u64) -> std::result::Result<(), Unusable>,
{
    let whole_ok = std::str::from_utf8(&doc.text)
        .ok()
        .is_some_and(|t| native::parse_value(t).is_ok());
    if whole_ok {
        return handle_value(&doc.text, doc.start_line, report, strict, on_event);
    }
    for (line_no, line) in (doc.start_line..).zip(doc.text.split(|&c| c == b'\n')) {
        let trimmed = line.trim_ascii();
        if !trimmed.is_empty() {
            if line_no == doc.start_line && (trimmed == b"{" || trimmed == b"[") {
                report.skip(
                    line_no,
                    "invalid JSON",
                    "invalid JSON: a document opened here never forms a valid JSON value"
                        .to_string(),
                    strict,
                )?;
            } else {
                handle_value(line, line_no, report, strict, on_event)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verbs_of(input: &str) -> (Vec<(String, u64)>, FileReport) {
        let mut seen = Vec::new();
        let mut report = FileReport::default();
        read_lines(
            input.as_bytes(),
            &mut report,
            false,
            &mut |e: &EventDoc<'_>, _v: Option<&str>, line| {
                seen.push((e.verb.as_deref().unwrap_or("").to_string(), line));
                Ok(())
            },
        )
        .unwrap();
        (seen, report)
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
