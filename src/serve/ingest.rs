//! Ingest: one request body (an `EventList`, JSON lines, any format the CLI reads; gzip or
//! plain) → a [`Batch`]: the batch's own aggregate per UTC day, the decoder's report, and
//! the journal payload that records the batch's effect. The decoding is the CLI's:
//! [`Decoder::decode_block`] over the whole body, [`normalize`], [`Aggregate::add`].

use crate::aggregate::partial;
use crate::aggregate::{Aggregate, Filter};
use crate::decode::native::EventDoc;
use crate::decode::{DecodeOptions, Decoder, FileReport, Sink, Unusable};
use crate::request::normalize;
use std::collections::BTreeMap;
use std::io::Read;

/// Microseconds in a day.
pub const DAY_MICROS: i64 = 86_400_000_000;

/// The UTC day (days since 1970-01-01) of a time in µs since the epoch.
pub fn day_of(micros: i64) -> i64 {
    micros.div_euclid(DAY_MICROS)
}

/// Classes of skipped lines that mean the body held no audit event at all (as opposed to
/// events that were read and refused, such as unauthenticated requests).
const UNREADABLE: [&str; 4] = [
    "invalid JSON",
    "invalid UTF-8",
    "wrong field type",
    "not an audit event",
];

/// Why a body cannot be used (answered with 400), or cannot be read in time (408, 413).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The body decompresses to more than the limit.
    TooLarge(u64),
    /// The body's gzip stream is damaged.
    BadGzip(String),
    /// A Content-Encoding other than gzip or identity.
    Encoding(String),
    /// Nothing in the body is an audit event: the reason, with the first examples.
    Unusable(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(limit) => {
                write!(f, "body decompresses to more than {limit} bytes")
            }
            BodyError::BadGzip(e) => write!(f, "gzip body cannot be decompressed: {e}"),
            BodyError::Encoding(e) => {
                write!(
                    f,
                    "Content-Encoding {e:?} is not supported (gzip or identity)"
                )
            }
            BodyError::Unusable(e) => write!(f, "no usable audit event: {e}"),
        }
    }
}

impl BodyError {
    /// The short reason metrics count rejects by.
    pub fn class(&self) -> &'static str {
        match self {
            BodyError::TooLarge(_) => "too large",
            BodyError::BadGzip(_) => "bad gzip",
            BodyError::Encoding(_) => "bad encoding",
            BodyError::Unusable(_) => "no usable event",
        }
    }
}

/// One decoded request body.
#[derive(Debug, Default)]
pub struct Batch {
    /// The batch's requests, per UTC day.
    pub days: BTreeMap<i64, Aggregate>,
    /// What decoding found: lines, events kept, skipped lines by reason.
    pub report: FileReport,
}

impl Batch {
    /// Events kept.
    pub fn events(&self) -> u64 {
        self.report.events
    }
}

/// The sink that adds each event to the aggregate of its UTC day; an event without a
/// readable timestamp counts on the day it was received.
struct ByDay<'a> {
    days: &'a mut BTreeMap<i64, Aggregate>,
    filter: &'a Filter,
    today: i64,
}

impl Sink for ByDay<'_> {
    fn event(
        &mut self,
        event: &EventDoc<'_>,
        list_version: Option<&str>,
        _line: u64,
    ) -> std::result::Result<(), Unusable> {
        let n = normalize::normalize(event, list_version)?;
        let day = n.time.map_or(self.today, day_of);
        self.days.entry(day).or_default().add(&n, self.filter);
        Ok(())
    }
}

/// Decompresses `body` when `encoding` says gzip, to at most `limit` bytes.
pub fn decompress(body: Vec<u8>, encoding: Option<&str>, limit: u64) -> Result<Vec<u8>, BodyError> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => {
            if body.len() as u64 > limit {
                return Err(BodyError::TooLarge(limit));
            }
            Ok(body)
        }
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::with_capacity(body.len() * 8);
            let decoder = flate2::read::MultiGzDecoder::new(&body[..]);
            let mut limited = decoder.take(limit + 1);
            limited
                .read_to_end(&mut out)
                .map_err(|e| BodyError::BadGzip(e.to_string()))?;
            if out.len() as u64 > limit {
                return Err(BodyError::TooLarge(limit));
            }
            Ok(out)
        }
        Some(other) => Err(BodyError::Encoding(other.to_string())),
    }
}

/// Decodes a (decompressed) body into a batch, `now` (µs) dating events without a time.
/// Usable events of a partly bad body are kept; a body with none is a [`BodyError`].
pub fn decode(text: &[u8], now: i64) -> Result<Batch, BodyError> {
    let mut batch = Batch {
        report: FileReport {
            name: "request body".to_string(),
            bytes: text.len() as u64,
            ..FileReport::default()
        },
        ..Batch::default()
    };
    if text.trim_ascii().is_empty() {
        return Err(BodyError::Unusable("the body is empty".to_string()));
    }
    let filter = Filter::default();
    let mut sink = ByDay {
        days: &mut batch.days,
        filter: &filter,
        today: day_of(now),
    };
    let decoder = Decoder::new(DecodeOptions::default());
    // Without strict decoding only a strict error could come back; count it as unusable.
    if let Err(e) = decoder.decode_block(text, 1, &mut batch.report, &mut sink) {
        return Err(BodyError::Unusable(e.to_string()));
    }
    batch.report.lines = crate::decode::framing::lines(text).count() as u64;
    let r = &batch.report;
    let unreadable = r.skipped.keys().all(|k| UNREADABLE.contains(&k.as_str()));
    if r.events == 0 && r.skipped_total() > 0 && unreadable {
        let examples: Vec<String> = r
            .examples
            .iter()
            .map(|(line, reason)| format!("line {line}: {reason}"))
            .collect();
        return Err(BodyError::Unusable(examples.join("; ")));
    }
    Ok(batch)
}

/// The journal payload of a batch: per day, the day number (8 bytes, little endian), the
/// length of its partial aggregate (4 bytes) and the partial aggregate's text.
pub fn payload(days: &BTreeMap<i64, Aggregate>) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut text = Vec::new();
    for (day, aggregate) in days {
        text.clear();
        partial::write(aggregate, &[], &mut text)?;
        let len = u32::try_from(text.len()).map_err(std::io::Error::other)?;
        out.extend_from_slice(&day.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&text);
    }
    Ok(out)
}

/// Reads a payload written by [`payload`] back into per-day aggregates; `None` when it is
/// damaged (a record whose checksum matched cannot be, but the reader does not trust it).
pub fn read_payload(mut bytes: &[u8]) -> Option<BTreeMap<i64, Aggregate>> {
    let mut days: BTreeMap<i64, Aggregate> = BTreeMap::new();
    while !bytes.is_empty() {
        if bytes.len() < 12 {
            return None;
        }
        let day = i64::from_le_bytes(bytes[..8].try_into().ok()?);
        let len = u32::from_le_bytes(bytes[8..12].try_into().ok()?) as usize;
        let text = bytes.get(12..12 + len)?;
        let aggregate = days.entry(day).or_default();
        partial::read_from(text, "journal record", &Filter::default(), aggregate).ok()?;
        bytes = &bytes[12 + len..];
    }
    Some(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/pods","verb":"list","user":{"username":"alice","groups":["system:authenticated"]},"objectRef":{"resource":"pods","namespace":"dev","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-02T10:00:00.000000Z","stageTimestamp":"2026-11-02T10:00:00.001000Z"}"#;

    #[test]
    fn an_event_list_on_one_line_is_read_by_day() {
        let body = format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{EVENT},{EVENT}]}}"#
        );
        let batch = decode(body.as_bytes(), 0).unwrap();
        assert_eq!(batch.events(), 2);
        let day = day_of(crate::time::parse_rfc3339_micros("2026-11-02T00:00:00Z").unwrap());
        assert_eq!(batch.days.keys().copied().collect::<Vec<_>>(), vec![day]);
        assert_eq!(batch.days[&day].subjects["alice"].distinct(), 1);
    }

    #[test]
    fn a_body_without_events_is_refused_with_the_reason() {
        let e = decode(b"not json\n", 0).unwrap_err();
        assert!(e.to_string().contains("line 1: invalid JSON"), "{e}");
        assert!(matches!(decode(b"  \n", 0), Err(BodyError::Unusable(_))));
    }

    #[test]
    fn usable_events_of_a_partly_bad_body_are_kept() {
        let body = format!("{EVENT}\nnot json\n{EVENT}\n");
        let batch = decode(body.as_bytes(), 0).unwrap();
        assert_eq!(batch.events(), 2);
        assert_eq!(batch.report.skipped["invalid JSON"], 1);
    }

    #[test]
    fn payload_round_trips() {
        let body = format!("{EVENT}\n");
        let batch = decode(body.as_bytes(), 0).unwrap();
        let bytes = payload(&batch.days).unwrap();
        let back = read_payload(&bytes).unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (d, agg) in &batch.days {
            partial::write(agg, &[], &mut a).unwrap();
            partial::write(&back[d], &[], &mut b).unwrap();
        }
        assert_eq!(a, b);
        assert!(read_payload(&bytes[..bytes.len() - 1]).is_none());
    }

    #[test]
    fn gzip_bodies_are_limited() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![b' '; 10_000]).unwrap();
        let body = gz.finish().unwrap();
        assert_eq!(
            decompress(body.clone(), Some("gzip"), 20_000)
                .unwrap()
                .len(),
            10_000
        );
        assert_eq!(
            decompress(body, Some("gzip"), 1000),
            Err(BodyError::TooLarge(1000))
        );
        assert!(matches!(
            decompress(vec![1, 2, 3], Some("br"), 10),
            Err(BodyError::Encoding(_))
        ));
    }
}
