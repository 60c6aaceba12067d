//! AKS: Azure Monitor diagnostic records of the `kube-audit` and `kube-audit-admin`
//! categories, as diagnostic settings stream them to Event Hubs (`{"records":[...]}`) or
//! write them to storage (one record per line). The native event is in `properties.log`:
//! usually a JSON string, decoded exactly as a native line is; an object is taken as the
//! event itself (`T`: the decoder's record type, which the object is parsed as). Records
//! of other categories (`kube-apiserver`, `guard`, ...) are skipped.

use crate::decode::native::Str;
use serde::de::{self, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The categories that hold API-server audit events.
pub const AUDIT_CATEGORIES: [&str; 2] = ["kube-audit", "kube-audit-admin"];

/// `properties`: only `log`.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Properties<'a, T> {
    #[serde(borrow, default = "no_log")]
    pub log: Option<LogValue<'a, T>>,
}

fn no_log<'a, T>() -> Option<LogValue<'a, T>> {
    None
}

/// `properties.log`: the event as a JSON string, or as an object.
#[derive(Debug)]
pub enum LogValue<'a, T> {
    Text(Str<'a>),
    Event(Box<T>),
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for LogValue<'a, T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LogVisitor<'a, T>(std::marker::PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for LogVisitor<'a, T> {
            type Value = LogValue<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an audit event as a JSON string or object")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LogValue::Text(Str::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LogValue::Text(Str::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LogValue::Text(Str::Owned(v)))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                let event = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(LogValue::Event(Box::new(event)))
            }
        }
        d.deserialize_any(LogVisitor(std::marker::PhantomData))
    }
}

/// `None` when `category` holds audit events; otherwise why the record is skipped.
pub fn category_problem(category: Option<&str>) -> Option<String> {
    match category {
        Some(c) if AUDIT_CATEGORIES.contains(&c) => None,
        Some(c) => Some(format!(
            "AKS diagnostic record of category {c:?}, not kube-audit or kube-audit-admin"
        )),
        None => Some("AKS diagnostic record without a category".to_string()),
    }
}
