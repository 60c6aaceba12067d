//! The subjects of the logs (`audit2role subjects`) as a kubectl-style table or as JSON.

use crate::audit::subjects::SubjectRow;
use crate::time::format_rfc3339_micros;
use serde_json::{json, Value};

fn time_text(t: Option<i64>) -> String {
    t.map(format_rfc3339_micros)
        .unwrap_or_else(|| "-".to_string())
}

/// The table's rows, the header first: SUBJECT, KIND, REQUESTS, DISTINCT, FIRST-SEEN,
/// LAST-SEEN, DENIED.
pub fn table_rows(rows: &[SubjectRow]) -> Vec<Vec<String>> {
    let mut table = vec![[
        "SUBJECT",
        "KIND",
        "REQUESTS",
        "DISTINCT",
        "FIRST-SEEN",
        "LAST-SEEN",
        "DENIED",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<String>>()];
    for r in rows {
        table.push(vec![
            r.name.clone(),
            r.kind.to_string(),
            r.totals.requests.to_string(),
            r.totals.distinct.to_string(),
            time_text(r.totals.first),
            time_text(r.totals.last),
            r.totals.denied.to_string(),
        ]);
    }
    table
}

/// `{"subjects": [{"subject", "kind", "requests", "distinctRequests", "firstSeen",
/// "lastSeen", "denied"}]}`; times are RFC 3339 or null.
pub fn json_doc(rows: &[SubjectRow]) -> Value {
    let time = |t: Option<i64>| {
        t.map(|t| json!(format_rfc3339_micros(t)))
            .unwrap_or(Value::Null)
    };
    let subjects: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "subject": r.name,
                "kind": r.kind.as_str(),
                "requests": r.totals.requests,
                "distinctRequests": r.totals.distinct,
                "firstSeen": time(r.totals.first),
                "lastSeen": time(r.totals.last),
                "denied": r.totals.denied,
            })
        })
        .collect();
    json!({ "subjects": subjects })
}
