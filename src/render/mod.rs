//! Rendering RBAC objects as YAML (as kubectl writes it) or as a JSON `v1 List`.
//!
//! The YAML emitter is deliberately small: it only has to write the fixed RBAC schema
//! (string scalars, sequences, maps), in the style of `sigs.k8s.io/yaml` (kubectl): map
//! keys in a fixed order (alphabetical within each object), 2-space indentation,
//! sequences not indented under their key. Scalars are written plain only when they are
//! unambiguously strings in both YAML 1.1 and 1.2; everything else is double-quoted with
//! JSON-compatible escapes (see [`yaml_scalar`]).
//!
//! Both YAML and JSON are produced from the same intermediate tree, so the two formats
//! always carry the same fields.

pub mod check;
pub mod diff;
pub mod generated;
pub mod html;
pub mod lookup;
pub mod outdir;
pub mod stale;
pub mod subjects;
pub mod table;
pub mod terminal;
pub mod who_can;
pub mod words;

use crate::rbac::types::{
    AggregationRule, ClusterRole, LabelSelector, ObjectMeta, PolicyRule, RbacSet, Role,
    RoleBinding, RoleRef, Subject, RBAC_API_VERSION,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Comments to write above individual rules: key = (object kind "Role"|"ClusterRole", namespace, name, rule index).
pub type RuleComments = BTreeMap<(String, String, String, usize), Vec<String>>;

/// Keys longer than this (as written) use the explicit `? key` form: YAML parsers
/// (libyaml) reject implicit keys longer than 1024 characters.
const MAX_IMPLICIT_KEY_LEN: usize = 1000;

/// The intermediate tree both emitters work from. Map entries keep the order given.
#[derive(Debug)]
enum Node {
    Str(String),
    Seq(Vec<Item>),
    Map(Vec<(String, Node)>),
}

/// One sequence item with the comment lines written above it.
#[derive(Debug)]
struct Item {
    comments: Vec<String>,
    node: Node,
}

impl Item {
    fn plain(node: Node) -> Item {
        Item {
            comments: Vec::new(),
            node,
        }
    }
}

fn s(v: &str) -> Node {
    Node::Str(v.to_string())
}

fn str_seq(v: &[String]) -> Node {
    Node::Seq(v.iter().map(|x| Item::plain(s(x))).collect())
}

fn str_map(m: &BTreeMap<String, String>) -> Node {
    Node::Map(m.iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

/// Adds `key: [..]` unless the list is empty.
fn push_list(map: &mut Vec<(String, Node)>, key: &str, v: &[String]) {
    if !v.is_empty() {
        map.push((key.to_string(), str_seq(v)));
    }
}

/// Adds `key: value` unless the value is empty.
fn push_str(map: &mut Vec<(String, Node)>, key: &str, v: &str) {
    if !v.is_empty() {
        map.push((key.to_string(), s(v)));
    }
}

fn meta_node(m: &ObjectMeta) -> Node {
    let mut map = Vec::new();
    if !m.annotations.is_empty() {
        map.push(("annotations".to_string(), str_map(&m.annotations)));
    }
    if !m.labels.is_empty() {
        map.push(("labels".to_string(), str_map(&m.labels)));
    }
    push_str(&mut map, "name", &m.name);
    push_str(&mut map, "namespace", &m.namespace);
    Node::Map(map)
}

fn rule_node(r: &PolicyRule) -> Node {
    let mut map = Vec::new();
    push_list(&mut map, "apiGroups", &r.api_groups);
    push_list(&mut map, "nonResourceURLs", &r.non_resource_urls);
    push_list(&mut map, "resourceNames", &r.resource_names);
    push_list(&mut map, "resources", &r.resources);
    push_list(&mut map, "verbs", &r.verbs);
    Node::Map(map)
}

fn selector_node(sel: &LabelSelector) -> Node {
    let mut map = Vec::new();
    if !sel.match_expressions.is_empty() {
        let exprs = sel
            .match_expressions
            .iter()
            .map(|e| {
                let mut m = vec![
                    ("key".to_string(), s(&e.key)),
                    ("operator".to_string(), s(&e.operator)),
                ];
                push_list(&mut m, "values", &e.values);
                Item::plain(Node::Map(m))
            })
            .collect();
        map.push(("matchExpressions".to_string(), Node::Seq(exprs)));
    }
    if !sel.match_labels.is_empty() {
        map.push(("matchLabels".to_string(), str_map(&sel.match_labels)));
    }
    Node::Map(map)
}

fn aggregation_node(a: &AggregationRule) -> Node {
    let mut map = Vec::new();
    if !a.cluster_role_selectors.is_empty() {
        let sels = a
            .cluster_role_selectors
            .iter()
            .map(|x| Item::plain(selector_node(x)))
            .collect();
        map.push(("clusterRoleSelectors".to_string(), Node::Seq(sels)));
    }
    Node::Map(map)
}

fn header(kind: &str, meta: &ObjectMeta) -> Vec<(String, Node)> {
    vec![
        ("apiVersion".to_string(), s(RBAC_API_VERSION)),
        ("kind".to_string(), s(kind)),
        ("metadata".to_string(), meta_node(meta)),
    ]
}

fn rules_node(
    kind: &str,
    meta: &ObjectMeta,
    rules: &[PolicyRule],
    comments: &RuleComments,
) -> Node {
    let items = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = (
                kind.to_string(),
                meta.namespace.clone(),
                meta.name.clone(),
                i,
            );
            Item {
                comments: comments.get(&key).cloned().unwrap_or_default(),
                node: rule_node(r),
            }
        })
        .collect();
    Node::Seq(items)
}

fn role_node(r: &Role, comments: &RuleComments) -> Node {
    let mut map = header("Role", &r.metadata);
    map.push((
        "rules".to_string(),
        rules_node("Role", &r.metadata, &r.rules, comments),
    ));
    Node::Map(map)
}

fn cluster_role_node(r: &ClusterRole, comments: &RuleComments) -> Node {
    let mut map = header("ClusterRole", &r.metadata);
    if let Some(a) = &r.aggregation_rule {
        map.push(("aggregationRule".to_string(), aggregation_node(a)));
    }
    map.push((
        "rules".to_string(),
        rules_node("ClusterRole", &r.metadata, &r.rules, comments),
    ));
    Node::Map(map)
}

fn role_ref_node(r: &RoleRef) -> Node {
    Node::Map(vec![
        ("apiGroup".to_string(), s(&r.api_group)),
        ("kind".to_string(), s(&r.kind)),
        ("name".to_string(), s(&r.name)),
    ])
}

fn subject_node(x: &Subject) -> Node {
    let mut map = Vec::new();
    push_str(&mut map, "apiGroup", &x.api_group);
    push_str(&mut map, "kind", &x.kind);
    push_str(&mut map, "name", &x.name);
    push_str(&mut map, "namespace", &x.namespace);
    Node::Map(map)
}

fn binding_node(kind: &str, b: &RoleBinding) -> Node {
    let mut map = header(kind, &b.metadata);
    map.push(("roleRef".to_string(), role_ref_node(&b.role_ref)));
    // As in Kubernetes (`subjects,omitempty`): no subjects, no key.
    if !b.subjects.is_empty() {
        let items = b
            .subjects
            .iter()
            .map(|x| Item::plain(subject_node(x)))
            .collect();
        map.push(("subjects".to_string(), Node::Seq(items)));
    }
    Node::Map(map)
}

/// Every object of the set as a tree, in output order.
fn objects(set: &RbacSet, comments: &RuleComments) -> Vec<Node> {
    let mut out = Vec::with_capacity(set.len());
    out.extend(set.roles.iter().map(|r| role_node(r, comments)));
    out.extend(
        set.cluster_roles
            .iter()
            .map(|r| cluster_role_node(r, comments)),
    );
    out.extend(
        set.role_bindings
            .iter()
            .map(|b| binding_node("RoleBinding", b)),
    );
    out.extend(
        set.cluster_role_bindings
            .iter()
            .map(|b| binding_node("ClusterRoleBinding", b)),
    );
    out
}

// ---------------------------------------------------------------------------------------
// YAML emission

/// YAML stream: all Roles, then ClusterRoles, then RoleBindings, then ClusterRoleBindings, each in the order given in the set.
pub fn to_yaml(set: &RbacSet, comments: &RuleComments) -> String {
    let mut out = String::new();
    for (i, obj) in objects(set, comments).iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        write_doc(&mut out, obj);
    }
    out
}

fn write_doc(out: &mut String, node: &Node) {
    match node {
        Node::Map(entries) if !entries.is_empty() => write_map(out, entries, 0, None),
        Node::Seq(items) if !items.is_empty() => write_seq(out, items, 0, None),
        other => {
            write_inline(out, other);
            out.push('\n');
        }
    }
}

/// Writes a scalar or an empty collection on the current line.
fn write_inline(out: &mut String, node: &Node) {
    match node {
        Node::Str(v) => out.push_str(&yaml_scalar(v)),
        Node::Seq(_) => out.push_str("[]"),
        Node::Map(_) => out.push_str("{}"),
    }
}

fn is_block(node: &Node) -> bool {
    match node {
        Node::Str(_) => false,
        Node::Seq(items) => !items.is_empty(),
        Node::Map(entries) => !entries.is_empty(),
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push(' ');
    }
}

/// Starts a line at `indent`: either `indent` spaces or, for the first line of a
/// sequence item, the pending `- ` prefix (which has the same width).
fn line_start(out: &mut String, indent: usize, first: &mut Option<&str>) {
    match first.take() {
        Some(prefix) => out.push_str(prefix),
        None => pad(out, indent),
    }
}

/// Writes a non-empty block mapping whose keys are at column `indent`.
fn write_map(out: &mut String, entries: &[(String, Node)], indent: usize, mut first: Option<&str>) {
    for (key, value) in entries {
        let k = yaml_scalar(key);
        line_start(out, indent, &mut first);
        if k.chars().count() > MAX_IMPLICIT_KEY_LEN {
            out.push_str("? ");
            out.push_str(&k);
            out.push('\n');
            pad(out, indent);
            out.push(':');
        } else {
            out.push_str(&k);
            out.push(':');
        }
        match value {
            Node::Map(sub) if !sub.is_empty() => {
                out.push('\n');
                write_map(out, sub, indent + 2, None);
            }
            // kubectl style: sequences at the same indentation as their key.
            Node::Seq(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(out, items, indent, None);
            }
            other => {
                out.push(' ');
                write_inline(out, other);
                out.push('\n');
            }
        }
    }
}

/// Writes a non-empty block sequence whose `- ` markers are at column `indent`.
fn write_seq(out: &mut String, items: &[Item], indent: usize, mut first: Option<&str>) {
    for item in items {
        for c in &item.comments {
            // Comments go on their own lines above the item; if a `- ` prefix of an outer
            // item is still pending (nested sequences, not used by the RBAC schema), the
            // comment would have to precede it, so it is dropped rather than misplaced.
            if first.is_some() {
                continue;
            }
            pad(out, indent);
            out.push_str(&comment_line(c));
            out.push('\n');
        }
        let mut prefix = String::new();
        line_start(&mut prefix, indent, &mut first);
        prefix.push_str("- ");
        if is_block(&item.node) {
            match &item.node {
                Node::Map(entries) => write_map(out, entries, indent + 2, Some(&prefix)),
                Node::Seq(sub) => write_seq(out, sub, indent + 2, Some(&prefix)),
                Node::Str(_) => unreachable!(),
            }
        } else {
            out.push_str(&prefix);
            write_inline(out, &item.node);
            out.push('\n');
        }
    }
}

/// `# text` with every character that could end the comment line (or that a YAML reader
/// rejects) replaced by a space.
fn comment_line(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_control() || needs_escape(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim_end();
    if clean.is_empty() {
        "#".to_string()
    } else {
        format!("# {clean}")
    }
}

/// Characters that cannot appear literally in a double-quoted YAML scalar: control
/// characters, YAML 1.1 line breaks (NEL, LS, PS), the BOM and non-printables.
fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// One YAML scalar, quoted when needed (exposed for tests and other emitters).
pub fn yaml_scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` can be written as a plain scalar and reads back as the same string in
/// YAML 1.1 and 1.2. Deliberately conservative: only a small set of ASCII characters is
/// allowed, and anything that could resolve to null, a boolean, a number or a timestamp
/// is quoted.
fn is_plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false; // empty: null
    };
    // Allowed anywhere: letters, digits and `-_./:+@`; spaces only inside.
    let allowed = |c: u8| c.is_ascii_alphanumeric() || b"-_./:+@ ".contains(&c);
    if !b.iter().all(|&c| allowed(c)) {
        return false;
    }
    // First character: no indicators (`-`, `:`, `@`), no sign or dot (numbers, `.inf`,
    // `...`), no space.
    if !(first.is_ascii_alphanumeric() || first == b'_' || first == b'/') {
        return false;
    }
    if last == b' ' || last == b':' || s.contains(": ") {
        return false;
    }
    if first.is_ascii_digit() && looks_numeric(s) {
        return false;
    }
    !is_reserved_word(s)
}

/// Strings starting with a digit made only of characters that occur in YAML 1.1/1.2
/// numbers (decimal, hex, octal, binary, floats, sexagesimal, underscores) and timestamps.
/// This also quotes some harmless strings (`10.0.0.1`, `1abc`; `1password` stays plain):
/// when in doubt, quote.
fn looks_numeric(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_hexdigit() || b"xXoObB_.:+- tTzZ".contains(&c))
}

/// Null and boolean forms of YAML 1.1 and 1.2 (any case, to be safe).
fn is_reserved_word(s: &str) -> bool {
    const WORDS: &[&str] = &["null", "y", "n", "yes", "no", "true", "false", "on", "off"];
    WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

// ---------------------------------------------------------------------------------------
// JSON

fn to_value(node: &Node) -> serde_json::Value {
    match node {
        Node::Str(v) => serde_json::Value::String(v.clone()),
        Node::Seq(items) => {
            serde_json::Value::Array(items.iter().map(|i| to_value(&i.node)).collect())
        }
        Node::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect(),
        ),
    }
}

/// The same objects as a serde_json::Value list of items (each with apiVersion, kind), for callers that add fields.
pub fn to_json_items(set: &RbacSet) -> Vec<serde_json::Value> {
    objects(set, &RuleComments::new())
        .iter()
        .map(to_value)
        .collect()
}

/// JSON `{"apiVersion":"v1","kind":"List","items":[...]}` with the same object order; each item has apiVersion and kind; pretty-printed with 2-space indent (serde_json::to_string_pretty), ending in a newline.
pub fn to_json_list(set: &RbacSet) -> String {
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": to_json_items(set),
    });
    let mut out = serde_json::to_string_pretty(&list).expect("a JSON value always serializes");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_table() {
        let cases: &[(&str, &str)] = &[
            // Plain.
            ("pods", "pods"),
            ("get", "get"),
            ("audit2role:alice", "audit2role:alice"),
            ("system:serviceaccount:ns:sa", "system:serviceaccount:ns:sa"),
            (
                "app.kubernetes.io/managed-by",
                "app.kubernetes.io/managed-by",
            ),
            ("rbac.authorization.k8s.io", "rbac.authorization.k8s.io"),
            ("/healthz", "/healthz"),
            ("alice@example.com", "alice@example.com"),
            ("a b", "a b"),
            ("a-b_c.d", "a-b_c.d"),
            ("_x", "_x"),
            ("1password", "1password"),
            ("nully", "nully"),
            ("yesno", "yesno"),
            ("inf", "inf"),
            ("nan", "nan"),
            ("http://x", "http://x"),
            // Null forms.
            ("", "\"\""),
            ("~", "\"~\""),
            ("null", "\"null\""),
            ("Null", "\"Null\""),
            ("NULL", "\"NULL\""),
            // Booleans (YAML 1.1 and 1.2).
            ("y", "\"y\""),
            ("Y", "\"Y\""),
            ("yes", "\"yes\""),
            ("Yes", "\"Yes\""),
            ("YES", "\"YES\""),
            ("n", "\"n\""),
            ("N", "\"N\""),
            ("no", "\"no\""),
            ("No", "\"No\""),
            ("NO", "\"NO\""),
            ("true", "\"true\""),
            ("True", "\"True\""),
            ("TRUE", "\"TRUE\""),
            ("false", "\"false\""),
            ("False", "\"False\""),
            ("FALSE", "\"FALSE\""),
            ("on", "\"on\""),
            ("On", "\"On\""),
            ("ON", "\"ON\""),
            ("off", "\"off\""),
            ("Off", "\"Off\""),
            ("OFF", "\"OFF\""),
            // Numbers and timestamps.
            ("123", "\"123\""),
            ("0", "\"0\""),
            ("-1", "\"-1\""),
            ("+1", "\"+1\""),
            ("017", "\"017\""),
            ("0o17", "\"0o17\""),
            ("0x1F", "\"0x1F\""),
            ("0b101", "\"0b101\""),
            ("1:20", "\"1:20\""),
            ("190:20:30.15", "\"190:20:30.15\""),
            ("1_000", "\"1_000\""),
            ("1.5", "\"1.5\""),
            (".5", "\".5\""),
            ("1e3", "\"1e3\""),
            ("1E3", "\"1E3\""),
            ("1.", "\"1.\""),
            (".inf", "\".inf\""),
            ("-.Inf", "\"-.Inf\""),
            ("+.INF", "\"+.INF\""),
            (".nan", "\".nan\""),
            (".NaN", "\".NaN\""),
            ("2001-12-14", "\"2001-12-14\""),
            (
                "2001-12-14t21:59:43.10-05:00",
                "\"2001-12-14t21:59:43.10-05:00\"",
            ),
            ("2001-12-14 21:59:43.10 -5", "\"2001-12-14 21:59:43.10 -5\""),
            ("10.0.0.1", "\"10.0.0.1\""),
            // YAML 1.1 merge and value keys.
            ("<<", "\"<<\""),
            ("=", "\"=\""),
            // Indicators.
            ("*", "\"*\""),
            ("/api/*", "\"/api/*\""),
            (":", "\":\""),
            ("-", "\"-\""),
            ("-x", "\"-x\""),
            ("- x", "\"- x\""),
            ("? x", "\"? x\""),
            ("?x", "\"?x\""),
            ("@x", "\"@x\""),
            ("%x", "\"%x\""),
            ("!x", "\"!x\""),
            ("&x", "\"&x\""),
            ("|", "\"|\""),
            (">", "\">\""),
            ("'q'", "\"'q'\""),
            ("`x", "\"`x\""),
            ("#comment", "\"#comment\""),
            ("a #b", "\"a #b\""),
            ("a#b", "\"a#b\""),
            ("a: b", "\"a: b\""),
            ("a:", "\"a:\""),
            ("[a]", "\"[a]\""),
            ("{a}", "\"{a}\""),
            ("a,b", "\"a,b\""),
            ("---", "\"---\""),
            ("...", "\"...\""),
            // Whitespace.
            (" x", "\" x\""),
            ("x ", "\"x \""),
            (" ", "\" \""),
            ("a\tb", "\"a\\tb\""),
            ("a\nb", "\"a\\nb\""),
            ("a\r\nb", "\"a\\r\\nb\""),
            // Escapes.
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("back\\slash", "\"back\\\\slash\""),
            ("\u{0}", "\"\\u0000\""),
            ("bell\u{7}", "\"bell\\u0007\""),
            ("del\u{7f}", "\"del\\u007F\""),
            ("nel\u{85}", "\"nel\\u0085\""),
            ("ls\u{2028}ps\u{2029}", "\"ls\\u2028ps\\u2029\""),
            ("\u{feff}bom", "\"\\uFEFFbom\""),
            ("nc\u{ffff}", "\"nc\\uFFFF\""),
            // Non-ASCII: quoted, printable characters kept as they are.
            ("ünïcode", "\"ünïcode\""),
            ("🦀", "\"🦀\""),
            ("日本", "\"日本\""),
        ];
        let mut bad = Vec::new();
        for (input, want) in cases {
            let got = yaml_scalar(input);
            if got != *want {
                bad.push(format!("{input:?}: got {got}, want {want}"));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn comment_lines_are_sanitized() {
        assert_eq!(comment_line("plain text"), "# plain text");
        assert_eq!(comment_line("a\nb\rc\td"), "# a b c d");
        assert_eq!(
            comment_line("x\u{85}y\u{2028}z\u{2029}w\u{feff}"),
            "# x y z w"
        );
        assert_eq!(comment_line(""), "#");
        assert_eq!(comment_line("\n"), "#");
        assert_eq!(comment_line("# already"), "# # already");
    }
}
