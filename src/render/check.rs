//! check answers as people and programs read them: one line per request not allowed, or
//! one JSON document of every subject checked.

use crate::aggregate::Evidence;
use crate::render::terminal::printable;
use crate::render::words::times;
use crate::request::RequestRef;
use crate::time::format_rfc3339_micros;
use serde_json::{json, Value};

/// `not allowed: REQUEST (seen N times, last T)`, escaped for a terminal.
pub fn not_allowed_line(request: &RequestRef<'_>, e: &Evidence) -> String {
    let last = e
        .last
        .map(format_rfc3339_micros)
        .unwrap_or_else(|| "-".to_string());
    format!(
        "not allowed: {} (seen {}, last {last})",
        printable(&request.to_string()),
        times(e.count())
    )
}

/// One request not allowed, as JSON.
pub fn not_allowed_json(request: &RequestRef<'_>, e: &Evidence) -> Value {
    json!({
        "request": request.to_string(),
        "requests": e.count(),
        "denied": e.denied,
        "firstSeen": e.first.map(format_rfc3339_micros),
        "lastSeen": e.last.map(format_rfc3339_micros),
    })
}

/// One subject's check as JSON: its distinct requests, how many are allowed, and the ones
/// that are not (`not_allowed`, from [`not_allowed_json`]).
pub fn subject_json(subject: &str, distinct: usize, not_allowed: Vec<Value>) -> Value {
    json!({
        "subject": subject,
        "distinctRequests": distinct,
        "allowed": distinct - not_allowed.len(),
        "notAllowed": not_allowed,
    })
}
