//! The native audit.k8s.io `Event` (v1, v1beta1, v1alpha1), with borrowed strings: only
//! the fields the authorizer attributes and the evidence need, and the JSON forms of its
//! parts. Bodies (requestObject, responseObject) are never built.

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A JSON string, borrowed from the input when it has no escapes.
pub type Str<'a> = Cow<'a, str>;

/// One native audit event: the fields the authorizer attributes and the evidence need.
/// Lines are parsed as a [`Record`](super::record::Record), which may also be a list or a
/// cloud envelope; what reaches a [`Sink`](super::Sink) is always this.
#[derive(Debug, Default)]
pub struct EventDoc<'a> {
    pub api_version: Option<Str<'a>>,
    pub kind: Option<Str<'a>>,
    pub stage: Option<Str<'a>>,
    pub request_uri: Option<Str<'a>>,
    pub verb: Option<Str<'a>>,
    pub user: Option<UserDoc<'a>>,
    pub impersonated_user: Option<UserDoc<'a>>,
    pub object_ref: Option<ObjectRefDoc<'a>>,
    pub response_status: Option<StatusDoc>,
    pub request_received_timestamp: Option<Str<'a>>,
    pub stage_timestamp: Option<Str<'a>>,
    /// v1alpha1/v1beta1: time the request was received.
    pub timestamp: Option<Str<'a>>,
    pub metadata: Option<MetadataDoc<'a>>,
    pub annotations: Option<Annotations>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::record::parse_events as parse_value;

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
