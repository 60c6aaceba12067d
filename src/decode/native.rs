//! The native audit.k8s.io `Event` (v1, v1beta1, v1alpha1) as JSON, decoded with borrowed
//! strings: only the fields the authorizer attributes and the evidence need. Bodies
//! (requestObject, responseObject) are skipped without being built.

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A JSON string, borrowed from the input when it has no escapes.
pub type Str<'a> = Cow<'a, str>;

/// One audit event, or (when `items` is set) an `EventList` / `List` of them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDoc<'a> {
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
    /// v1alpha1/v1beta1: time the request was received.
    #[serde(borrow, default)]
    pub timestamp: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub metadata: Option<MetadataDoc<'a>>,
    #[serde(default)]
    pub annotations: Option<Annotations>,
    /// Items of an `EventList` or `v1 List`.
    #[serde(borrow, default)]
    pub items: Option<Vec<EventDoc<'a>>>,

    // Cloud wrappers around events (`super::cloud::gke`, `super::cloud::eks`, `super::cloud::aks`). A native
    // event has none of these; the scanner leaves any line that sets one to serde_json.
    /// GKE (Cloud Logging `LogEntry`): the AuditLog payload.
    #[serde(borrow, default)]
    pub proto_payload: Option<Box<super::cloud::gke::ProtoPayload<'a>>>,
    /// GKE: when Cloud Logging received the entry (`timestamp` is when it happened).
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
    pub log_events: Option<Vec<super::cloud::eks::LogEvent<'a>>>,
    /// EKS: the events of `aws logs filter-log-events` output.
    #[serde(borrow, default)]
    pub events: Option<Vec<super::cloud::eks::LogEvent<'a>>>,
    /// EKS: one CloudWatch Logs record; the event as a JSON string.
    #[serde(borrow, default)]
    pub message: Option<Str<'a>>,
    /// EKS: a CloudWatch Logs Insights result row; the event as a JSON string.
    #[serde(borrow, default, rename = "@message")]
    pub at_message: Option<Str<'a>>,
    /// AKS: the diagnostic records of an Event Hubs / storage batch.
    #[serde(borrow, default)]
    pub records: Option<Vec<EventDoc<'a>>>,
    /// AKS: the diagnostic category (`kube-audit`, `kube-audit-admin`, ...).
    #[serde(borrow, default)]
    pub category: Option<Str<'a>>,
    /// AKS: the record's properties; the event is in `properties.log`.
    #[serde(borrow, default)]
    pub properties: Option<Box<super::cloud::aks::Properties<'a>>>,
}

impl EventDoc<'_> {
    /// True when some cloud wrapper field is set (and so the line is not a plain event).
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
}

/// `user` / `impersonatedUser`.
#[derive(Debug, Default, Deserialize)]
pub struct UserDoc<'a> {
    #[serde(borrow, default)]
    pub username: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub uid: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub groups: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    pub extra: Option<BTreeMap<Str<'a>, Vec<Str<'a>>>>,
}

/// `objectRef`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRefDoc<'a> {
    #[serde(borrow, default)]
    pub resource: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub namespace: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub api_group: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub api_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub subresource: Option<Str<'a>>,
}

/// `responseStatus`: only the HTTP code.
#[derive(Debug, Default, Deserialize)]
pub struct StatusDoc {
    #[serde(default)]
    pub code: Option<i64>,
}

/// v1alpha1/v1beta1 `metadata`: only `creationTimestamp`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataDoc<'a> {
    #[serde(borrow, default)]
    pub creation_timestamp: Option<Str<'a>>,
}

/// The authorization decision from `annotations`; every other annotation is skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    #[default]
    Unknown,
    Allow,
    Forbid,
}

/// `annotations`, reduced to the `authorization.k8s.io/decision` value.
#[derive(Debug, Default, Clone, Copy)]
pub struct Annotations {
    pub decision: Decision,
}

impl<'de> Deserialize<'de> for Annotations {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AnnotationsVisitor;
        impl<'de> Visitor<'de> for AnnotationsVisitor {
            type Value = Annotations;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of annotations")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Annotations, M::Error> {
                let mut out = Annotations::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "authorization.k8s.io/decision" {
                        let value: Cow<'de, str> = map.next_value()?;
                        out.decision = match value.as_ref() {
                            "allow" => Decision::Allow,
                            "forbid" => Decision::Forbid,
                            _ => Decision::Unknown,
                        };
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(AnnotationsVisitor)
    }
}

/// One parsed JSON value: a single document (event or list), or an array of them. The
/// single document stays inline: it is the common case, parsed once per line.
#[allow(clippy::large_enum_variant)]
pub enum Parsed<'a> {
    One(EventDoc<'a>),
    Many(Vec<EventDoc<'a>>),
}

impl<'a> Parsed<'a> {
    pub fn docs(&self) -> &[EventDoc<'a>] {
        match self {
            Parsed::One(d) => std::slice::from_ref(d),
            Parsed::Many(v) => v,
        }
    }
}

/// [`parse_value`] without allocating for the common single document.
pub fn parse(text: &str) -> Result<Parsed<'_>, serde_json::Error> {
    let first = text.trim_start().as_bytes().first().copied();
    if first == Some(b'[') {
        serde_json::from_str::<Vec<EventDoc<'_>>>(text).map(Parsed::Many)
    } else {
        serde_json::from_str::<EventDoc<'_>>(text).map(Parsed::One)
    }
}

/// Parses one JSON value: an event, an EventList/List, or an array of them.
pub fn parse_value(text: &str) -> Result<Vec<EventDoc<'_>>, serde_json::Error> {
    let first = text.trim_start().as_bytes().first().copied();
    if first == Some(b'[') {
        serde_json::from_str::<Vec<EventDoc<'_>>>(text)
    } else {
        serde_json::from_str::<EventDoc<'_>>(text).map(|e| vec![e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_needed_fields_and_skips_bodies() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"x","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/pods?watch=1","verb":"watch","user":{"username":"alice","groups":["g1","system:authenticated"],"extra":{"k":["v"]}},"objectRef":{"resource":"pods","namespace":"a","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestObject":{"deep":[1,2,{"x":null}]},"annotations":{"authorization.k8s.io/decision":"allow","other":"x"},"requestReceivedTimestamp":"2024-05-01T12:00:00.123456Z"}"#;
        let docs = parse_value(line).unwrap();
        let e = &docs[0];
        assert_eq!(e.verb.as_deref(), Some("watch"));
        assert_eq!(e.user.as_ref().unwrap().username.as_deref(), Some("alice"));
        assert!(e
            .user
            .as_ref()
            .unwrap()
            .extra
            .as_ref()
            .unwrap()
            .contains_key("k"));
        assert_eq!(
            e.object_ref.as_ref().unwrap().resource.as_deref(),
            Some("pods")
        );
        assert_eq!(e.response_status.as_ref().unwrap().code, Some(200));
        assert_eq!(e.annotations.unwrap().decision, Decision::Allow);
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(parse_value(r#"{"verb":5}"#).is_err());
        assert!(parse_value(r#"{"user":"alice"}"#).is_err());
    }

    #[test]
    fn escaped_strings_decode() {
        let docs = parse_value(r#"{"verb":"get","user":{"username":"a\u003cb"}}"#).unwrap();
        assert_eq!(
            docs[0].user.as_ref().unwrap().username.as_deref(),
            Some("a<b")
        );
    }
}
