//! What one JSON object of a line may be, parsed in one pass: a native event, an
//! EventList / List of records, or a cloud envelope (GKE, EKS, AKS: their fields are typed
//! in `cloud/`). The decoder looks at which fields are set and hands the native event on
//! ([`Record::into_event`]) or unwraps the envelope. One pass over the text with one type
//! keeps serde_json's results and messages exactly (field order, positions, duplicates).

use super::cloud::{aks, eks, gke};
use super::native::{Annotations, EventDoc, MetadataDoc, ObjectRefDoc, StatusDoc, Str, UserDoc};
use serde::Deserialize;

/// One JSON object of a line (see the module comment). Named `EventDoc` in serde_json's
/// messages.
#[derive(Debug, Default, Deserialize)]
#[serde(rename = "EventDoc", rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(borrow, default)]
    pub api_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub stage: Option<Str<'a>>,
    #[serde(borrow, default, rename = "requestURI")]
    pub request_uri: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub verb: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub user: Option<UserDoc<'a>>,
    #[serde(borrow, default)]
    pub impersonated_user: Option<UserDoc<'a>>,
    #[serde(borrow, default)]
    pub object_ref: Option<ObjectRefDoc<'a>>,
    #[serde(default)]
    pub response_status: Option<StatusDoc>,
    #[serde(borrow, default)]
    pub request_received_timestamp: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub stage_timestamp: Option<Str<'a>>,
    /// v1alpha1/v1beta1: time the request was received; GKE: when it happened.
    #[serde(borrow, default)]
    pub timestamp: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub metadata: Option<MetadataDoc<'a>>,
    #[serde(default)]
    pub annotations: Option<Annotations>,
    /// Items of an `EventList` or `v1 List`.
    #[serde(borrow, default)]
    pub items: Option<Vec<Record<'a>>>,

    // Cloud envelopes. A native event has none of these; the scanner leaves any line that
    // sets one to serde_json.
    /// GKE (Cloud Logging `LogEntry`): the AuditLog payload.
    #[serde(borrow, default)]
    pub proto_payload: Option<Box<gke::ProtoPayload<'a>>>,
    /// GKE: when Cloud Logging received the entry.
    #[serde(borrow, default)]
    pub receive_timestamp: Option<Str<'a>>,
    /// GKE: entry labels, which carry the `authorization.k8s.io/decision` annotation.
    #[serde(default)]
    pub labels: Option<Annotations>,
    /// EKS: a CloudWatch Logs subscription batch (`DATA_MESSAGE` or `CONTROL_MESSAGE`).
    #[serde(borrow, default)]
    pub message_type: Option<Str<'a>>,
    /// EKS: the log events of a subscription batch.
    #[serde(borrow, default)]
    pub log_events: Option<Vec<eks::LogEvent<'a>>>,
    /// EKS: the events of `aws logs filter-log-events` output.
    #[serde(borrow, default)]
    pub events: Option<Vec<eks::LogEvent<'a>>>,
    /// EKS: one CloudWatch Logs record; the event as a JSON string.
    #[serde(borrow, default)]
    pub message: Option<Str<'a>>,
    /// EKS: a CloudWatch Logs Insights result row; the event as a JSON string.
    #[serde(borrow, default, rename = "@message")]
    pub at_message: Option<Str<'a>>,
    /// AKS: the diagnostic records of an Event Hubs / storage batch.
    #[serde(borrow, default)]
    pub records: Option<Vec<Record<'a>>>,
    /// AKS: the diagnostic category (`kube-audit`, `kube-audit-admin`, ...).
    #[serde(borrow, default)]
    pub category: Option<Str<'a>>,
    /// AKS: the record's properties; the event is in `properties.log`.
    #[serde(borrow, default)]
    pub properties: Option<Box<aks::Properties<'a, Record<'a>>>>,
}

impl<'a> Record<'a> {
    /// True when some cloud envelope field is set (and so the line is not a plain event).
    pub fn has_wrapper(&self) -> bool {
        self.proto_payload.is_some()
            || self.message_type.is_some()
            || self.log_events.is_some()
            || self.events.is_some()
            || self.message.is_some()
            || self.at_message.is_some()
            || self.records.is_some()
            || self.category.is_some()
            || self.properties.is_some()
    }

    /// The GKE entry, when this is one.
    pub fn gke_entry(&self) -> Option<gke::Entry<'_>> {
        Some(gke::Entry {
            payload: self.proto_payload.as_deref()?,
            timestamp: self.timestamp.as_deref(),
            receive_timestamp: self.receive_timestamp.as_deref(),
            labels: self.labels,
        })
    }

    /// The native event: the native fields, moved.
    pub fn into_event(self) -> EventDoc<'a> {
        EventDoc {
            api_version: self.api_version,
            kind: self.kind,
            stage: self.stage,
            request_uri: self.request_uri,
            verb: self.verb,
            user: self.user,
            impersonated_user: self.impersonated_user,
            object_ref: self.object_ref,
            response_status: self.response_status,
            request_received_timestamp: self.request_received_timestamp,
            stage_timestamp: self.stage_timestamp,
            timestamp: self.timestamp,
            metadata: self.metadata,
            annotations: self.annotations,
        }
    }
}

/// One parsed JSON value: a single record, or an array of them. The single record stays
/// inline: it is the common case, parsed once per line.
#[allow(clippy::large_enum_variant)]
pub enum Parsed<'a> {
    One(Record<'a>),
    Many(Vec<Record<'a>>),
}

impl<'a> Parsed<'a> {
    /// The records, in order (no allocation for a single one).
    pub fn into_records(self) -> impl Iterator<Item = Record<'a>> {
        let (one, many) = match self {
            Parsed::One(d) => (Some(d), Vec::new()),
            Parsed::Many(v) => (None, v),
        };
        one.into_iter().chain(many)
    }
}

/// Parses one JSON value: a record (event, list, envelope) or an array of them.
pub fn parse(text: &str) -> Result<Parsed<'_>, serde_json::Error> {
    let first = text.trim_start().as_bytes().first().copied();
    if first == Some(b'[') {
        serde_json::from_str::<Vec<Record<'_>>>(text).map(Parsed::Many)
    } else {
        serde_json::from_str::<Record<'_>>(text).map(Parsed::One)
    }
}

/// The records of one JSON value as native events (lists and envelopes not unwrapped): for
/// tests and tools that hold one event.
pub fn parse_events(text: &str) -> Result<Vec<EventDoc<'_>>, serde_json::Error> {
    Ok(parse(text)?
        .into_records()
        .map(Record::into_event)
        .collect())
}
