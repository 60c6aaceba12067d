//! Reading RBAC objects from YAML streams and JSON documents (what `kubectl get ... -o yaml`
//! or `-o json` prints): single objects, `List`s and typed `RoleList`s etc., JSON arrays,
//! multi-document YAML. Objects of other kinds are skipped; malformed input is an error
//! naming the source, the document (or line) and the offending field. A key given twice in
//! one mapping, or flow nesting deeper than any RBAC object, is refused.

use super::strict_value::{too_deep_at, UniqueKeys, MAX_FLOW_DEPTH};
use super::types::{RbacSet, RBAC_GROUP};
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// RBAC versions accepted in `apiVersion`.
const RBAC_VERSIONS: [&str; 3] = ["v1", "v1beta1", "v1alpha1"];

/// Reads every RBAC object in the file at `path` ("-" is not supported here).
pub fn read_rbac_file(path: &str) -> Result<RbacSet> {
    if path == "-" {
        return Err(Error::Usage(
            "reading RBAC objects from standard input (\"-\") is not supported; name a file"
                .to_string(),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count() as u64;
            return Err(Error::input(path, Some(line), "input is not valid UTF-8"));
        }
    };
    read_rbac_str(&text, path)
}

/// Reads RBAC objects from text; `origin` names the source in error messages.
pub fn read_rbac_str(text: &str, origin: &str) -> Result<RbacSet> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(line) = too_deep_at(text, MAX_FLOW_DEPTH) {
        return Err(Error::input(
            origin,
            Some(line),
            format!("nesting deeper than {MAX_FLOW_DEPTH} levels: not an RBAC dump"),
        ));
    }
    let mut set = RbacSet::default();
    let looks_like_json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if looks_like_json {
        match parse_json_stream(text) {
            Ok(docs) => {
                for (i, doc) in docs.into_iter().enumerate() {
                    collect_document(doc, origin, i + 1, &mut set)?;
                }
                return Ok(set);
            }
            Err(json_err) => {
                // Flow-style YAML also starts with `{` or `[`: try it as YAML before failing.
                // When it is not YAML either, report the JSON error, the likelier intent.
                let mut yaml_set = RbacSet::default();
                return match read_yaml(text, origin, &mut yaml_set) {
                    Ok(()) => Ok(yaml_set),
                    Err(YamlError::Content(e)) => Err(e),
                    Err(YamlError::Syntax(_)) => Err(Error::input(
                        origin,
                        Some(json_err.line() as u64),
                        format!("invalid JSON: {json_err}"),
                    )),
                };
            }
        }
    }
    match read_yaml(text, origin, &mut set) {
        Ok(()) => Ok(set),
        Err(YamlError::Syntax(e) | YamlError::Content(e)) => Err(e),
    }
}

/// Why a YAML stream was rejected.
enum YamlError {
    /// Not parseable as YAML.
    Syntax(Error),
    /// Parsed, but not acceptable RBAC content.
    Content(Error),
}

/// Every JSON value of a (possibly concatenated) JSON text.
fn parse_json_stream(text: &str) -> std::result::Result<Vec<Value>, serde_json::Error> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<UniqueKeys>()
        .map(|v| v.map(|UniqueKeys(v)| v))
        .collect()
}

/// Reads every document of a YAML stream into `set`.
fn read_yaml(text: &str, origin: &str, set: &mut RbacSet) -> std::result::Result<(), YamlError> {
    use serde::Deserialize as _;
    for (i, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let number = i + 1;
        // After an error the iterator may keep yielding the same failure: stop at the first.
        let value = UniqueKeys::deserialize(document)
            .map(|UniqueKeys(v)| v)
            .map_err(|e| {
                let line = e.location().map(|l| l.line() as u64);
                YamlError::Syntax(Error::input(
                    origin,
                    line,
                    format!("document {number}: invalid YAML: {e}"),
                ))
            })?;
        collect_document(value, origin, number, set).map_err(YamlError::Content)?;
    }
    Ok(())
}

/// Where an object sits, for error messages.
struct Place<'a> {
    origin: &'a str,
    document: usize,
    /// Path inside the document (`items[3]`, `[0]`), empty at the top.
    path: String,
}

impl Place<'_> {
    fn error(&self, reason: impl std::fmt::Display) -> Error {
        let mut msg = format!("document {}", self.document);
        if !self.path.is_empty() {
            let _ = write!(msg, ", {}", self.path);
        }
        let _ = write!(msg, ": {reason}");
        Error::input(self.origin, None, msg)
    }

    fn child(&self, segment: &str) -> Place<'_> {
        Place {
            origin: self.origin,
            document: self.document,
            path: format!("{}{}", self.path, segment),
        }
    }
}

fn collect_document(value: Value, origin: &str, document: usize, set: &mut RbacSet) -> Result<()> {
    let place = Place {
        origin,
        document,
        path: String::new(),
    };
    collect(value, &place, None, set)
}

/// What a `RoleList`-style list hands down to its items.
#[derive(Clone, Copy)]
struct Inherited<'a> {
    kind: &'a str,
    api_version: Option<&'a str>,
}

/// Adds the RBAC objects in `value` (an object, a list object or an array) to `set`.
fn collect(
    value: Value,
    place: &Place<'_>,
    inherited: Option<Inherited<'_>>,
    set: &mut RbacSet,
) -> Result<()> {
    let mut object = match value {
        Value::Null => return Ok(()),
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                collect(item, &place.child(&format!("[{i}]")), inherited, set)?;
            }
            return Ok(());
        }
        Value::Object(object) => object,
        other => {
            return Err(place.error(format!(
                "expected a mapping (a Kubernetes object), found {}",
                describe(&other)
            )))
        }
    };
    let kind = match object.get("kind") {
        None | Some(Value::Null) => match inherited {
            Some(i) => i.kind.to_string(),
            None => return Err(place.error("object has no `kind`")),
        },
        Some(Value::String(k)) => k.clone(),
        Some(other) => {
            return Err(place.error(format!(
                "kind: expected a string, found {}",
                describe(other)
            )))
        }
    };
    let api_version = match object.get("apiVersion") {
        None | Some(Value::Null) => inherited.and_then(|i| i.api_version).map(str::to_string),
        Some(Value::String(v)) => Some(v.clone()),
        Some(other) => {
            return Err(place.error(format!(
                "apiVersion: expected a string, found {}",
                describe(other)
            )))
        }
    };

    if kind == "List" {
        return collect_items(&mut object, place, None, set);
    }
    let item_kind = match kind.as_str() {
        "RoleList" => Some("Role"),
        "ClusterRoleList" => Some("ClusterRole"),
        "RoleBindingList" => Some("RoleBinding"),
        "ClusterRoleBindingList" => Some("ClusterRoleBinding"),
        _ => None,
    };
    let is_rbac_kind = item_kind.is_some()
        || matches!(
            kind.as_str(),
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
        );
    if !is_rbac_kind || !rbac_api_version(api_version.as_deref(), &kind, place)? {
        return Ok(());
    }
    if let Some(item_kind) = item_kind {
        let inherit = Inherited {
            kind: item_kind,
            api_version: api_version.as_deref(),
        };
        return collect_items(&mut object, place, Some(inherit), set);
    }

    let object = Value::Object(object);
    match kind.as_str() {
        "Role" => set.roles.push(typed(&object, &kind, place)?),
        "ClusterRole" => set.cluster_roles.push(typed(&object, &kind, place)?),
        "RoleBinding" => set.role_bindings.push(typed(&object, &kind, place)?),
        _ => set
            .cluster_role_bindings
            .push(typed(&object, &kind, place)?),
    }
    Ok(())
}

/// Checks an RBAC kind's apiVersion: `Ok(true)` for an accepted RBAC version (or none given),
/// `Ok(false)` for another API group (a different kind that happens to share the name), an
/// error for an RBAC version we do not know.
fn rbac_api_version(api_version: Option<&str>, kind: &str, place: &Place<'_>) -> Result<bool> {
    let Some(api_version) = api_version else {
        return Ok(true);
    };
    match api_version.split_once('/') {
        Some((group, version)) if group == RBAC_GROUP => {
            if RBAC_VERSIONS.contains(&version) {
                Ok(true)
            } else {
                Err(place.error(format!(
                    "{kind}: unsupported apiVersion {api_version:?} (expected {RBAC_GROUP}/v1, \
                     v1beta1 or v1alpha1)"
                )))
            }
        }
        _ => Ok(false),
    }
}

/// Collects the `items` of a list object.
fn collect_items(
    object: &mut Map<String, Value>,
    place: &Place<'_>,
    inherited: Option<Inherited<'_>>,
    set: &mut RbacSet,
) -> Result<()> {
    match object.remove("items") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                let item_place = place.child(&if place.path.is_empty() {
                    format!("items[{i}]")
                } else {
                    format!(".items[{i}]")
                });
                if !item.is_object() && !item.is_null() {
                    return Err(item_place.error(format!(
                        "expected a mapping (a Kubernetes object), found {}",
                        describe(&item)
                    )));
                }
                collect(item, &item_place, inherited, set)?;
            }
            Ok(())
        }
        Some(other) => Err(place.error(format!(
            "items: expected a list, found {}",
            describe(&other)
        ))),
    }
}

/// Deserializes one RBAC object; on failure, names the offending field.
fn typed<T: DeserializeOwned>(object: &Value, kind: &str, place: &Place<'_>) -> Result<T> {
    match T::deserialize(object) {
        Ok(t) => Ok(t),
        Err(e) => {
            let name = object
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str);
            let what = match name {
                Some(n) => format!("{kind} {n:?}"),
                None => kind.to_string(),
            };
            let field = locate_error::<T>(object, &e.to_string());
            if field.is_empty() {
                Err(place.error(format!("{what}: {e}")))
            } else {
                Err(place.error(format!("{what}: {field}: {e}")))
            }
        }
    }
}

/// One step of a path into a JSON value.
enum Step {
    Key(String),
    Index(usize),
}

/// Finds the path (`rules[0].verbs`) of the value whose deserialization as part of a `T`
/// fails with `message`. Deserialization visits children in order and stops at the first
/// error, so at each level the culprit is the child `k - 1` for the smallest `k` such that
/// keeping only the first `k` children still fails the same way (found by bisection).
fn locate_error<T: DeserializeOwned>(root: &Value, message: &str) -> String {
    let fails_same = |value: &Value| match T::deserialize(value) {
        Ok(_) => false,
        Err(e) => e.to_string() == message,
    };
    let mut path: Vec<Step> = Vec::new();
    // Bounded by the depth of the value; the limit only guards against surprises.
    for _ in 0..256 {
        let len = match node(root, &path) {
            Some(Value::Object(m)) => m.len(),
            Some(Value::Array(a)) => a.len(),
            _ => break,
        };
        let truncated = |k: usize| {
            let mut copy = root.clone();
            if let Some(n) = node_mut(&mut copy, &path) {
                match n {
                    Value::Object(m) => {
                        let kept: Map<String, Value> =
                            std::mem::take(m).into_iter().take(k).collect();
                        *m = kept;
                    }
                    Value::Array(a) => a.truncate(k),
                    _ => {}
                }
            }
            copy
        };
        if len == 0 || fails_same(&truncated(0)) {
            break;
        }
        // Invariant: fails_same(truncated(hi)), !fails_same(truncated(lo)).
        let (mut lo, mut hi) = (0, len);
        if !fails_same(&truncated(hi)) {
            break;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fails_same(&truncated(mid)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let step = match node(root, &path) {
            Some(Value::Object(m)) => match m.keys().nth(lo) {
                Some(k) => Step::Key(k.clone()),
                None => break,
            },
            _ => Step::Index(lo),
        };
        path.push(step);
    }
    let mut out = String::new();
    for step in &path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                let _ = write!(out, ".{k}");
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

fn node<'v>(root: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

fn node_mut<'v>(root: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// A short description of a value's type for messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::types::{ClusterRole, Role};
    use serde::Deserialize as _;

    #[test]
    fn locates_nested_field() {
        let v: Value = serde_json::json!({
            "metadata": {"name": "x"},
            "rules": [
                {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
                {"verbs": ["get"], "apiGroups": [""], "resources": "pods"}
            ]
        });
        let e = Role::deserialize(&v).unwrap_err().to_string();
        assert_eq!(locate_error::<Role>(&v, &e), "rules[1].resources");
    }

    #[test]
    fn locates_missing_required_field_at_its_object() {
        let v: Value = serde_json::json!({
            "aggregationRule": {"clusterRoleSelectors": [
                {"matchExpressions": [{"key": "a", "operator": "Exists"}, {"operator": "In"}]}
            ]}
        });
        let e = ClusterRole::deserialize(&v).unwrap_err().to_string();
        assert_eq!(
            locate_error::<ClusterRole>(&v, &e),
            "aggregationRule.clusterRoleSelectors[0].matchExpressions[1]"
        );
    }
}
