//! Checks the authorizer against the RBAC matching vectors in `tests/vectors/rbac_match.json`
//! (format in `tests/vectors/README.md`).

use audit2role::rbac::authorize::rule_allows;
use audit2role::rbac::{
    Authorizer, ClusterRole, ObjectMeta, PolicyRule, RbacSet, Role, RoleBinding, RoleRef, Subject,
    RBAC_GROUP,
};
use audit2role::request::{Request, ResourceTarget, UserInfo};
use serde_json::Value;

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn request_of(v: &Value) -> Result<Request, String> {
    let verb = v
        .get("verb")
        .and_then(Value::as_str)
        .ok_or("request without verb")?;
    match v.get("resourceRequest").and_then(Value::as_bool) {
        Some(true) => Ok(Request::resource(
            verb,
            ResourceTarget {
                api_group: str_field(v, "apiGroup"),
                resource: str_field(v, "resource"),
                subresource: str_field(v, "subresource"),
                namespace: str_field(v, "namespace"),
                name: str_field(v, "name"),
            },
        )),
        Some(false) => Ok(Request::non_resource(
            verb,
            v.get("path")
                .and_then(Value::as_str)
                .ok_or("non-resource request without path")?,
        )),
        None => Err("request without resourceRequest".into()),
    }
}

fn user_of(v: &Value) -> UserInfo {
    let user = v.get("user").cloned().unwrap_or(Value::Null);
    UserInfo {
        name: str_field(&user, "name"),
        groups: user
            .get("groups")
            .and_then(Value::as_array)
            .map(|gs| {
                gs.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: name.to_string(),
        namespace: namespace.to_string(),
        ..ObjectMeta::default()
    }
}

/// The one-role, one-binding RBAC set a scoped case describes.
fn scoped_set(rule: PolicyRule, scope: &Value) -> Result<RbacSet, String> {
    let subject: Subject =
        serde_json::from_value(scope.get("subject").cloned().unwrap_or_default())
            .map_err(|e| format!("bad subject: {e}"))?;
    let role_kind = str_field(scope, "roleKind");
    let mut set = RbacSet::default();
    match role_kind.as_str() {
        "Role" => set.roles.push(Role {
            metadata: meta("r", &str_field(scope, "roleNamespace")),
            rules: vec![rule],
        }),
        "ClusterRole" => set.cluster_roles.push(ClusterRole {
            metadata: meta("r", ""),
            rules: vec![rule],
            aggregation_rule: None,
        }),
        other => return Err(format!("unknown roleKind {other:?}")),
    }
    let role_ref = RoleRef {
        api_group: RBAC_GROUP.to_string(),
        kind: role_kind,
        name: "r".to_string(),
    };
    match str_field(scope, "bindingKind").as_str() {
        "RoleBinding" => set.role_bindings.push(RoleBinding {
            metadata: meta("b", &str_field(scope, "bindingNamespace")),
            role_ref,
            subjects: vec![subject],
        }),
        "ClusterRoleBinding" => set.cluster_role_bindings.push(RoleBinding {
            metadata: meta("b", ""),
            role_ref,
            subjects: vec![subject],
        }),
        other => return Err(format!("unknown bindingKind {other:?}")),
    }
    Ok(set)
}

/// Evaluates one case: `Ok(decision)` or an error for a malformed case.
fn decide(case: &Value) -> Result<bool, String> {
    let rule: PolicyRule = serde_json::from_value(case.get("rule").cloned().unwrap_or_default())
        .map_err(|e| format!("bad rule: {e}"))?;
    let request_json = case.get("request").ok_or("case without request")?;
    let request = request_of(request_json)?;
    match case.get("scope") {
        None | Some(Value::Null) => Ok(rule_allows(&rule, request.as_ref())),
        Some(scope) => {
            let authorizer = Authorizer::new(scoped_set(rule, scope)?);
            let user = user_of(request_json);
            let allowed = authorizer.allows(&user, request.as_ref());
            // The per-user view diff and generation ask must answer alike.
            let by_user_rules = authorizer.user_rules(&user).allows(request.as_ref());
            if by_user_rules != allowed {
                return Err(format!(
                    "user_rules says {by_user_rules}, allows says {allowed}"
                ));
            }
            Ok(allowed)
        }
    }
}

#[test]
fn rbac_match_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/rbac_match.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(!cases.is_empty(), "{path}: no cases");

    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let id = case
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{i}"));
        let Some(expected) = case.get("allowed").and_then(Value::as_bool) else {
            failures.push(format!("{id}: no `allowed`"));
            continue;
        };
        match decide(case) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!(
                "{id}: expected allowed={expected}, got {got} ({})",
                str_field(case, "note")
            )),
            Err(e) => failures.push(format!("{id}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
