//! EKS: control-plane audit logs as CloudWatch Logs delivers them. The native event is the
//! JSON string in a record's `message`, decoded exactly as a native line is. Accepted shapes:
//!
//! - subscription / Firehose batches: `{"messageType":"DATA_MESSAGE","logGroup":...,
//!   "logStream":...,"logEvents":[{"id","timestamp","message"}]}`; a `CONTROL_MESSAGE`
//!   batch (the health check CloudWatch sends to a new destination) is skipped. Firehose
//!   writes batches to S3 back to back without newlines (gzip members, which the reader
//!   joins); such a line is split into its objects by the line decoder;
//! - `aws logs filter-log-events` / `get-log-events` output: `{"events":[{"logStreamName",
//!   "timestamp","message","ingestionTime","eventId"}],...}`;
//! - CloudWatch Logs Insights results: objects with `@timestamp` and `@message`, one per line
//!   or as an array;
//! - a single CloudWatch Logs event `{"timestamp":...,"message":"..."}` per line (its number
//!   `timestamp` does not fit a native event, so it is recognized when the line fails to
//!   decode as one; see [`single_record`]).
//!
//! The log group of an EKS cluster also holds the authenticator, scheduler and other
//! control-plane logs; their messages are not JSON and are skipped with that reason.

use crate::decode::native::Str;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// One CloudWatch Logs event (of a subscription batch or of `filter-log-events` output).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent<'a> {
    #[serde(borrow, default)]
    pub message: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub log_stream_name: Option<Str<'a>>,
    /// Present but not needed: the embedded event has its own timestamps.
    #[serde(default)]
    pub timestamp: Option<IgnoredAny>,
}

/// What a subscription batch's `messageType` says.
pub fn is_control_message(message_type: Option<&str>) -> bool {
    message_type == Some("CONTROL_MESSAGE")
}

/// The wording used in skip reasons for where an embedded event came from.
pub fn origin(shape: &str, stream: Option<&str>) -> String {
    match stream {
        Some(s) => format!("{shape} (log stream {s:?})"),
        None => shape.to_string(),
    }
}

/// `text` as one CloudWatch Logs event with a `message`, for a line that did not decode as a
/// native event.
pub fn single_record(text: &str) -> Option<LogEvent<'_>> {
    serde_json::from_str::<LogEvent<'_>>(text)
        .ok()
        .filter(|r| r.message.is_some())
}
