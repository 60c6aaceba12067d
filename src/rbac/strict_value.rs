//! Guards for reading RBAC dumps written by anyone: a JSON value built from YAML or JSON
//! that refuses a mapping with the same key twice (two `subjects:` would otherwise be read
//! as the last one, silently), and a scan that refuses flow nesting deeper than any RBAC
//! object has before the parser sees it (the YAML parser slows down quadratically on
//! `[[[[…`).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Flow brackets (`[`, `{`) open at once beyond which a dump is refused. RBAC objects
/// nest about six levels deep; a `kubectl get -o json` List about eight.
pub const MAX_FLOW_DEPTH: usize = 64;

/// A value in which no mapping has a repeated key.
pub struct UniqueKeys(pub Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UniqueKeys, D::Error> {
        d.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::String(v)))
    }

    fn visit_none<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::Null))
    }

    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<UniqueKeys, D::Error> {
        UniqueKeys::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(UniqueKeys(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(NewKey(&out))? {
            let UniqueKeys(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(UniqueKeys(Value::Object(out)))
    }
}

/// A mapping key that `seen` does not hold yet. The refusal is raised while the key is
/// read, so that the parser can say where it stands.
struct NewKey<'m>(&'m Map<String, Value>);

impl<'de> de::DeserializeSeed<'de> for NewKey<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for NewKey<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if self.0.contains_key(key) {
            return Err(E::custom(format_args!("duplicate key {key:?}")));
        }
        Ok(key.to_string())
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<String, E> {
        self.visit_str(&key)
    }
}

/// The line (1-based) where flow brackets first nest deeper than `max`, if they do.
/// Brackets inside quoted scalars and comments do not count.
pub fn too_deep_at(text: &str, max: usize) -> Option<u64> {
    let mut depth = 0usize;
    let mut line = 1u64;
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let mut previous = b'\n';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line += 1;
            comment = false;
        }
        if comment {
        } else if let Some(q) = quote {
            if b == b'\\' && q == b'"' {
                i += 1;
            } else if b == q {
                // `''` inside a single-quoted scalar is an escaped quote.
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    quote = None;
                }
            }
        } else {
            match b {
                b'"' | b'\'' => quote = Some(b),
                b'#' if previous.is_ascii_whitespace() => comment = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        return Some(line);
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        previous = b;
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_in_yaml_and_json() {
        let yaml = "kind: RoleBinding\nsubjects: []\nsubjects:\n- kind: User\n  name: x\n";
        let doc = serde_norway::Deserializer::from_str(yaml).next().unwrap();
        let err = UniqueKeys::deserialize(doc).err().expect("refused");
        assert!(
            err.to_string().contains("duplicate key \"subjects\""),
            "{err}"
        );
        let json = r#"{"a": {"b": 1, "b": 2}}"#;
        let err = serde_json::from_str::<UniqueKeys>(json)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("duplicate key \"b\""), "{err}");
        let fine = serde_json::from_str::<UniqueKeys>(r#"{"a": [1, 2.5, "x", null, true]}"#)
            .expect("read");
        assert_eq!(fine.0, serde_json::json!({"a": [1, 2.5, "x", null, true]}));
    }

    #[test]
    fn nesting_is_measured_outside_quotes_and_comments() {
        let cases: &[(&str, usize, Option<u64>)] = &[
            ("rules: [[[]]]", 3, None),
            ("rules: [[[[]]]]", 3, Some(1)),
            ("a: '[[[['\nb: \"{{{{\"\n# [[[[\n", 1, None),
            ("a: 'it''s [[[['\n", 1, None),
            ("a: b#[[[[\n", 3, Some(1)),
            ("ok: 1\nx: [\n [\n  [\n", 2, Some(4)),
        ];
        for (text, max, want) in cases {
            assert_eq!(too_deep_at(text, *max), *want, "{text:?}");
        }
        let hostile = "[".repeat(100_000);
        assert_eq!(too_deep_at(&hostile, MAX_FLOW_DEPTH), Some(1));
    }
}
