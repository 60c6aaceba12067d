//! The HTTP routes: `POST /v1/events` (ingest), the questions (`GET /v1/subjects`,
//! `/v1/rbac`, `/v1/aggregate`, `/v1/report`), `/healthz`, `/readyz` and `/metrics`, with the
//! credentials each needs. Answers to questions are the CLI's, made by the same library
//! calls on the merged days; a window (`since`) starts at a UTC day boundary or is refused,
//! and each answer names the one it covers.

use super::ingest::{self, BodyError};
use super::state::{first_kept_day, Job, Message, NotStored, Shared};
use crate::aggregate::{partial, Aggregate};
use crate::generate::names::{DEFAULT_LABELS, DEFAULT_NAME_TEMPLATE};
use crate::generate::policy::Policy;
use crate::generate::{for_subjects, GenerateOptions};
use crate::rbac::Authorizer;
use crate::render::generated::{json_of, yaml_of};
use crate::request::select::DurationUnit;
use crate::time::format_date;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Semaphore};

/// What one connection proved about its caller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conn {
    /// A client certificate verified against `--client-ca` was presented.
    pub client_cert: bool,
}

/// Who may do what.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Bearer token for ingest (`--token-file`).
    pub ingest_token: Option<String>,
    /// Client certificates verified against `--client-ca` may ingest.
    pub client_certs: bool,
    /// Bearer token for the questions (`--read-token-file`).
    pub read_token: Option<String>,
    /// Plain HTTP on loopback: without tokens, every route is open.
    pub insecure: bool,
}

/// Limits on requests.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body, as sent (compressed or not).
    pub max_body: usize,
    /// Largest body once decompressed.
    pub max_decompressed: u64,
    /// Longest time to receive a body.
    pub body_timeout: Duration,
    /// Bodies being decoded at once; more are answered 429.
    pub max_in_flight: usize,
}

/// What the handlers share.
pub struct App {
    pub shared: Arc<Shared>,
    pub queue: SyncSender<Message>,
    pub access: Access,
    pub limits: Limits,
    pub in_flight: Semaphore,
    /// Set when shutting down: readiness fails, new batches are refused.
    pub closing: AtomicBool,
    pub retain_days: Option<i64>,
    /// The RBAC dump `GET /v1/report` compares the activity with (`--rbac`), and its files.
    pub report_rbac: Option<(Arc<Authorizer>, Vec<String>)>,
    /// The same dump with the bootstrap roles, as `--existing` loads it: what
    /// `/v1/rbac?existing=true` leaves out.
    pub existing_rbac: Option<Arc<Authorizer>>,
    /// The bootstrap roles alone: what `/v1/rbac` leaves out by default, as generation does.
    pub bootstrap_rbac: Arc<Authorizer>,
}

/// The router over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/events", post(post_events))
        .route("/v1/subjects", get(get_subjects))
        .route("/v1/rbac", get(get_rbac))
        .route("/v1/aggregate", get(get_aggregate))
        .route("/v1/report", get(get_report))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let token = value.strip_prefix(b"Bearer ")?;
    Some(token.trim_ascii())
}

fn token_ok(headers: &HeaderMap, token: &Option<String>) -> bool {
    match (token, bearer(headers)) {
        (Some(t), Some(given)) => same_secret(t.as_bytes(), given),
        _ => false,
    }
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    let mut text = text.into();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn retry_later(status: StatusCode, seconds: u32, text: impl Into<String>) -> Response {
    let mut response = plain(status, text);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

impl App {
    fn may_ingest(&self, conn: &Conn, headers: &HeaderMap) -> bool {
        let a = &self.access;
        if a.ingest_token.is_none() && !a.client_certs {
            return a.insecure;
        }
        (a.client_certs && conn.client_cert) || token_ok(headers, &a.ingest_token)
    }

    fn may_read(&self, headers: &HeaderMap) -> bool {
        match &self.access.read_token {
            None => self.access.insecure,
            Some(_) => token_ok(headers, &self.access.read_token),
        }
    }

    fn denied(&self, what: &str) -> Response {
        self.shared.metrics.reject("unauthorized");
        let mut r = plain(
            StatusCode::UNAUTHORIZED,
            format!("{what} needs a valid credential"),
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    }

    fn reject(&self, status: StatusCode, reason: &str, text: impl Into<String>) -> Response {
        self.shared.metrics.reject(reason);
        plain(status, text)
    }
}

async fn post_events(
    State(app): State<Arc<App>>,
    conn: Option<Extension<Conn>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let conn = conn.map(|c| c.0).unwrap_or_default();
    let response = ingest_events(&app, conn, headers, body).await;
    app.shared
        .metrics
        .observe_request("events", started.elapsed().as_secs_f64());
    response
}

/// Reads and drops a body that will not be used, so that the answer reaches a client
/// still sending it (closing with unread data would reset the connection and lose the
/// answer). Bounded by the body limits; memory stays constant.
async fn drain(body: Body, limits: &Limits) {
    let mut body = body;
    let mut seen = 0usize;
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    while seen <= limits.max_body {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                seen += frame.data_ref().map_or(0, |d| d.len());
            }
            _ => break,
        }
    }
}

async fn ingest_events(app: &Arc<App>, conn: Conn, headers: HeaderMap, body: Body) -> Response {
    let early = if !app.may_ingest(&conn, &headers) {
        Some(app.denied("POST /v1/events"))
    } else if app.closing.load(Ordering::SeqCst) {
        app.shared.metrics.reject("closing");
        Some(retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            5,
            "shutting down",
        ))
    } else if !app.shared.healthy.load(Ordering::SeqCst) {
        app.shared.metrics.reject("store failing");
        Some(retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            30,
            "the journal cannot be written; nothing is accepted",
        ))
    } else {
        None
    };
    if let Some(response) = early {
        drain(body, &app.limits).await;
        return response;
    }
    let Ok(_permit) = app.in_flight.try_acquire() else {
        app.shared.metrics.reject("busy");
        drain(body, &app.limits).await;
        return retry_later(StatusCode::TOO_MANY_REQUESTS, 1, "too many batches at once");
    };
    let limits = app.limits;
    let collected = tokio::time::timeout(
        limits.body_timeout,
        http_body_util::Limited::new(body, limits.max_body).collect(),
    )
    .await;
    let bytes = match collected {
        Err(_) => {
            return app.reject(
                StatusCode::REQUEST_TIMEOUT,
                "body timeout",
                "the body did not arrive in time",
            )
        }
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return app.reject(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too large",
                    format!("body larger than {} bytes", limits.max_body),
                );
            }
            return app.reject(
                StatusCode::BAD_REQUEST,
                "body read",
                format!("cannot read the body: {e}"),
            );
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let now = crate::request::select::now_micros();
    let decoded = tokio::task::spawn_blocking(move || {
        let text =
            ingest::decompress(bytes.to_vec(), encoding.as_deref(), limits.max_decompressed)?;
        let batch = ingest::decode(&text, now)?;
        let payload = ingest::payload(&batch.days)
            .map_err(|e| BodyError::Unusable(format!("cannot record the batch: {e}")))?;
        Ok::<_, BodyError>((batch, payload))
    })
    .await;
    let (batch, payload) = match decoded {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            let status = match e {
                BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                BodyError::Encoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                _ => StatusCode::BAD_REQUEST,
            };
            return app.reject(status, e.class(), e.to_string());
        }
        Err(_) => {
            return app.reject(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "decoding failed",
            )
        }
    };
    let events = batch.events();
    let skipped = batch.report.skipped_total();
    let summary = serde_json::json!({
        "events": events,
        "skipped": batch.report.skipped,
    });
    if events == 0 {
        app.shared.metrics.skipped_lines.inc_by(skipped);
        return (StatusCode::OK, axum::Json(summary)).into_response();
    }
    let (reply, answer) = oneshot::channel();
    let job = Job {
        days: batch.days,
        payload,
        events,
        skipped,
        reply,
    };
    match app.queue.try_send(Message::Batch(job)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            app.shared.metrics.reject("queue full");
            return retry_later(StatusCode::TOO_MANY_REQUESTS, 1, "the write queue is full");
        }
        Err(TrySendError::Disconnected(_)) => {
            app.shared.metrics.reject("closing");
            return retry_later(StatusCode::SERVICE_UNAVAILABLE, 5, "shutting down");
        }
    }
    match answer.await {
        Ok(Ok(())) => (StatusCode::OK, axum::Json(summary)).into_response(),
        Ok(Err(NotStored::Failed(e))) => {
            app.shared.metrics.reject("store failed");
            retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                10,
                format!("not stored: {e}"),
            )
        }
        Ok(Err(NotStored::Closing)) | Err(_) => {
            app.shared.metrics.reject("closing");
            retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                5,
                "shutting down; not stored",
            )
        }
    }
}

/// A boolean parameter, spelled as the CLI's boolean flags take it.
fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "" | "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("{name}={value:?} is not a boolean (true or false)")),
    }
}

/// The response header naming the first instant an answer covers: the start of its first
/// UTC day (`2026-11-01T00:00:00Z`), or `all` when every stored day is used.
pub const SINCE_HEADER: &str = "x-audit2role-since";

/// The state keeps activity per UTC day, so a window starts at a day boundary or not at
/// all: a `since` inside a day is refused rather than widened or narrowed.
///
/// - a date (`2026-11-01`) or an RFC 3339 time at a UTC midnight (`2026-11-01T00:00:00Z`,
///   also `2026-11-01T01:00:00+01:00`): that day;
/// - `Nd` or `Nw`: the start of the UTC day N days (7·N for weeks) before today, so `0d` is
///   today and `30d` covers today and the 30 whole days before it;
/// - anything else (a time inside a day, hours, minutes, seconds): an error that says which
///   boundaries are possible.
pub fn since_day(value: &str, now: i64) -> Result<i64, String> {
    let today = ingest::day_of(now);
    let boundaries = "since=DATE (its start, DATET00:00:00Z) or since=Nd (the start of the UTC \
                      day N days before today; Nw: weeks)";
    if let Some((n, unit)) = crate::request::select::duration_back(value) {
        let days = match unit {
            DurationUnit::Days => Some(n),
            DurationUnit::Weeks => n.checked_mul(7),
            _ => {
                return Err(format!(
                    "since={value:?} is not a day boundary: the state keeps activity per UTC \
                     day, so a window can start only at one: {boundaries}; 0d is today, from \
                     {}",
                    day_start(today)
                ))
            }
        };
        // As far back as the CLI's `--since` reaches (µs since the epoch fit an i64).
        return days
            .filter(|d| d.checked_mul(ingest::DAY_MICROS).is_some())
            .and_then(|d| today.checked_sub(d))
            .ok_or_else(|| format!("since={value:?}: too far back"));
    }
    let at =
        crate::request::select::parse_time_bound(value, now, "since").map_err(|e| e.to_string())?;
    let day = ingest::day_of(at);
    if at.rem_euclid(ingest::DAY_MICROS) != 0 {
        return Err(format!(
            "since={value:?} is inside the UTC day {}: the state keeps activity per UTC day, \
             so a window can start only at a day boundary: {boundaries}; the nearest are \
             since={} ({}) and since={} ({})",
            format_date(day),
            format_date(day),
            day_start(day),
            format_date(day + 1),
            day_start(day + 1)
        ));
    }
    Ok(day)
}

/// The start of UTC day `day`, RFC 3339 (`2026-11-01T00:00:00Z`).
fn day_start(day: i64) -> String {
    crate::time::format_rfc3339_micros(day.saturating_mul(ingest::DAY_MICROS))
}

/// The first day of a `since` parameter (see [`since_day`]), or the retention's first day
/// when that is later or there is no `since`; `None`: every stored day.
fn first_day(
    params: &BTreeMap<String, String>,
    retain: Option<i64>,
) -> Result<Option<i64>, String> {
    let now = crate::request::select::now_micros();
    let retained = retain.map(|r| first_kept_day(r, now));
    let Some(since) = params.get("since") else {
        return Ok(retained);
    };
    let day = since_day(since, now)?;
    Ok(Some(retained.map_or(day, |r| r.max(day))))
}

/// Names the window an answer covers in [`SINCE_HEADER`].
fn with_window(mut response: Response, from: Option<i64>) -> Response {
    let value = from.map_or_else(|| "all".to_string(), day_start);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(SINCE_HEADER, value);
    }
    response
}

/// Runs `f` on a blocking thread and turns its outcome into a response, which names the
/// window it covers (`from`, see [`with_window`]).
async fn answer<F>(app: &Arc<App>, route: &'static str, from: Option<i64>, f: F) -> Response
where
    F: FnOnce(&Shared) -> Response + Send + 'static,
{
    let started = Instant::now();
    let shared = app.shared.clone();
    let response = tokio::task::spawn_blocking(move || f(&shared))
        .await
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "the answer failed"));
    app.shared
        .metrics
        .observe_request(route, started.elapsed().as_secs_f64());
    with_window(response, from)
}

fn known(params: &BTreeMap<String, String>, allowed: &[&str]) -> Result<(), String> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown parameter {k:?} (known: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

async fn get_subjects(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    if !app.may_read(&headers) {
        return app.denied("GET /v1/subjects");
    }
    let from = match known(&params, &["since"]).and_then(|_| first_day(&params, app.retain_days)) {
        Ok(d) => d,
        Err(e) => return app.reject(StatusCode::BAD_REQUEST, "bad parameter", e),
    };
    answer(&app, "subjects", from, move |shared| {
        let days = shared.days.read().unwrap_or_else(|e| e.into_inner());
        let merged = days.merged(from);
        drop(days);
        axum::Json(subjects_json(&merged)).into_response()
    })
    .await
}

/// The subjects of `aggregate`: kind, requests, distinct requests, first and last seen.
pub fn subjects_json(aggregate: &Aggregate) -> serde_json::Value {
    let mut out = Vec::new();
    for name in aggregate.subject_names() {
        let sub = &aggregate.subjects[name];
        // Requests are counted per distinct request (its most-logged stage), then added.
        let total = crate::audit::subjects::totals_of(sub);
        let kind = if crate::request::split_service_account(name).is_some() {
            "ServiceAccount"
        } else {
            "User"
        };
        out.push(serde_json::json!({
            "subject": name,
            "kind": kind,
            "requests": total.requests,
            "distinct": sub.distinct(),
            "first": total.first.map(crate::time::format_rfc3339_micros),
            "last": total.last.map(crate::time::format_rfc3339_micros),
        }));
    }
    serde_json::json!({ "subjects": out })
}

/// The generate options and output of `/v1/rbac` parameters.
#[derive(Debug)]
struct RbacQuery {
    subject: String,
    options: GenerateOptions,
    evidence: bool,
    json: bool,
    /// Leave out what the dump given with `--rbac` already allows (`--existing DUMP`).
    existing: bool,
}

const RBAC_PARAMS: [&str; 14] = [
    "user",
    "serviceaccount",
    "strict",
    "expand-verbs",
    "expand-multi-namespace",
    "expand-multi-name",
    "evidence",
    "output",
    "since",
    "generate-name",
    "generate-labels",
    "generate-annotations",
    "o",
    "existing",
];

fn rbac_query(params: &BTreeMap<String, String>) -> Result<RbacQuery, String> {
    let params: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.replace('_', "-"), v.clone()))
        .collect();
    known(&params, &RBAC_PARAMS)?;
    let subject = match (params.get("user"), params.get("serviceaccount")) {
        (Some(u), None) if !u.is_empty() => u.clone(),
        (None, Some(sa)) => {
            let (ns, name) = sa
                .split_once(':')
                .ok_or_else(|| format!("serviceaccount={sa:?}: expected NAMESPACE:NAME"))?;
            let username = format!("system:serviceaccount:{ns}:{name}");
            if crate::request::split_service_account(&username).is_none() {
                return Err(format!(
                    "serviceaccount={sa:?}: namespace must be a DNS label and name a DNS subdomain"
                ));
            }
            username
        }
        _ => return Err("say whose RBAC: user=NAME or serviceaccount=NAMESPACE:NAME".to_string()),
    };
    let flag = |name: &str, default: bool| -> Result<bool, String> {
        params
            .get(name)
            .map_or(Ok(default), |v| parse_bool(name, v))
    };
    let policy = if flag("strict", false)? {
        Policy::strict()
    } else {
        Policy {
            expand_verbs: flag("expand-verbs", true)?,
            expand_multi_namespace: flag("expand-multi-namespace", true)?,
            expand_multi_name: flag("expand-multi-name", true)?,
            ..Policy::default()
        }
    };
    let text = |name: &str, default: &str| params.get(name).cloned().unwrap_or(default.into());
    let options = GenerateOptions {
        policy,
        name_template: text("generate-name", DEFAULT_NAME_TEMPLATE),
        labels: text("generate-labels", DEFAULT_LABELS),
        annotations: text("generate-annotations", ""),
    };
    options.naming(&subject).map_err(|e| e.to_string())?;
    let output = params
        .get("output")
        .or(params.get("o"))
        .map_or("yaml", String::as_str);
    let json = match output {
        "yaml" => false,
        "json" => true,
        other => return Err(format!("output={other:?}: yaml or json")),
    };
    Ok(RbacQuery {
        subject,
        options,
        evidence: flag("evidence", false)?,
        json,
        existing: flag("existing", false)?,
    })
}

async fn get_rbac(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    if !app.may_read(&headers) {
        return app.denied("GET /v1/rbac");
    }
    let parsed =
        rbac_query(&params).and_then(|q| first_day(&params, app.retain_days).map(|from| (q, from)));
    let (query, from) = match parsed {
        Ok(q) => q,
        Err(e) => return app.reject(StatusCode::BAD_REQUEST, "bad parameter", e),
    };
    let existing = match (query.existing, &app.existing_rbac) {
        (false, _) => app.bootstrap_rbac.clone(),
        (true, Some(dump)) => dump.clone(),
        (true, None) => {
            return app.reject(
                StatusCode::BAD_REQUEST,
                "bad parameter",
                "existing=true needs the RBAC in place: start serve with --rbac DUMP",
            )
        }
    };
    answer(&app, "rbac", from, move |shared| {
        let days = shared.days.read().unwrap_or_else(|e| e.into_inner());
        let aggregate = days.subject(&query.subject, from);
        drop(days);
        let Some(aggregate) = aggregate else {
            return plain(
                StatusCode::NOT_FOUND,
                format!(
                    "No audit events matched user {}",
                    crate::render::terminal::printable(&query.subject)
                ),
            );
        };
        let outputs = match for_subjects(&aggregate, &existing, &query.options, |s| {
            s == query.subject
        }) {
            Ok(o) => o,
            Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let (text, kind) = if query.json {
            let all: Vec<_> = outputs.iter().collect();
            (json_of(&all, query.evidence), "application/json")
        } else {
            let docs: Vec<String> = outputs
                .iter()
                .map(|o| yaml_of(o, query.evidence))
                .filter(|t| !t.is_empty())
                .collect();
            (docs.join("---\n"), "application/yaml")
        };
        (StatusCode::OK, [(header::CONTENT_TYPE, kind)], text).into_response()
    })
    .await
}

async fn get_aggregate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    if !app.may_read(&headers) {
        return app.denied("GET /v1/aggregate");
    }
    let from = match known(&params, &["since"]).and_then(|_| first_day(&params, app.retain_days)) {
        Ok(d) => d,
        Err(e) => return app.reject(StatusCode::BAD_REQUEST, "bad parameter", e),
    };
    answer(&app, "aggregate", from, move |shared| {
        let days = shared.days.read().unwrap_or_else(|e| e.into_inner());
        let merged = days.merged(from);
        drop(days);
        let mut out = Vec::new();
        match partial::write(&merged, &[], &mut out) {
            Ok(()) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/x-ndjson")],
                out,
            )
                .into_response(),
            Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    })
    .await
}

/// The permission-audit page of `diff --all-subjects -o html` for the activity stored (from
/// `since`, whole UTC days), against the dump given with `--rbac`.
async fn get_report(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    if !app.may_read(&headers) {
        return app.denied("GET /v1/report");
    }
    let Some((authorizer, files)) = app.report_rbac.clone() else {
        return plain(
            StatusCode::NOT_FOUND,
            "no RBAC dump to compare with: start serve with --rbac DUMP",
        );
    };
    let from = match known(&params, &["since"]).and_then(|_| first_day(&params, app.retain_days)) {
        Ok(d) => d,
        Err(e) => return app.reject(StatusCode::BAD_REQUEST, "bad parameter", e),
    };
    answer(&app, "report", from, move |shared| {
        let days = shared.days.read().unwrap_or_else(|e| e.into_inner());
        let merged = days.merged(from);
        drop(days);
        let diffs: Vec<_> = merged
            .subject_names()
            .into_iter()
            .filter_map(|name| {
                let sub = merged.subjects.get(name).filter(|s| s.distinct() > 0)?;
                Some(crate::audit::diff::diff_subject(name, sub, &authorizer))
            })
            .collect();
        let sets = match diffs
            .iter()
            .map(|d| crate::audit::diff::suggestion(&d.subject, &d.observations()))
            .collect::<crate::error::Result<Vec<_>>>()
        {
            Ok(sets) => sets,
            Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let subjects: Vec<_> = diffs
            .iter()
            .zip(&sets)
            .map(|(diff, set)| crate::render::diff::SubjectJson {
                diff,
                suggested: Some(set),
            })
            .collect();
        let run = crate::render::html::RunInfo {
            version: env!("CARGO_PKG_VERSION"),
            generated_at: crate::request::select::now_micros(),
            rbac: &files,
            inputs: &[],
            since: from.map(|day| day * ingest::DAY_MICROS),
            until: None,
            namespace: None,
        };
        let mut page = Vec::new();
        match crate::render::html::write(&subjects, &run, &mut page) {
            Ok(()) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                page,
            )
                .into_response(),
            Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    })
    .await
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.closing.load(Ordering::SeqCst) {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    if !app.shared.healthy.load(Ordering::SeqCst) {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the journal cannot be written",
        );
    }
    plain(StatusCode::OK, "ready")
}

async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !app.may_read(&headers) {
        return app.denied("GET /metrics");
    }
    let shared = app.shared.clone();
    let text = tokio::task::spawn_blocking(move || {
        super::state::count_state(&shared);
        shared.metrics.encode()
    })
    .await
    .unwrap_or_default();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbac_parameters_are_the_generate_flags() {
        let mut p = BTreeMap::new();
        p.insert("serviceaccount".to_string(), "ops:bot".to_string());
        p.insert("strict".to_string(), "true".to_string());
        p.insert("output".to_string(), "json".to_string());
        let q = rbac_query(&p).unwrap();
        assert_eq!(q.subject, "system:serviceaccount:ops:bot");
        assert!(q.options.policy.strict && q.json && !q.evidence);
        p.insert("strikt".to_string(), "1".to_string());
        assert!(rbac_query(&p)
            .unwrap_err()
            .contains("unknown parameter \"strikt\""));
        let mut p = BTreeMap::new();
        p.insert("user".to_string(), "alice".to_string());
        p.insert("expand_verbs".to_string(), "maybe".to_string());
        assert!(rbac_query(&p).unwrap_err().contains("not a boolean"));
    }

    #[test]
    fn since_is_a_utc_day_boundary_or_refused() {
        let day = |d: &str| {
            crate::time::parse_rfc3339_micros(&format!("{d}T00:00:00Z")).unwrap()
                / ingest::DAY_MICROS
        };
        // 2026-12-03T10:15:00Z
        let now = day("2026-12-03") * ingest::DAY_MICROS + 36_900_000_000;
        assert_eq!(since_day("2026-11-01", now), Ok(day("2026-11-01")));
        assert_eq!(
            since_day("2026-11-01T00:00:00Z", now),
            Ok(day("2026-11-01"))
        );
        assert_eq!(
            since_day("2026-11-01T01:00:00+01:00", now),
            Ok(day("2026-11-01"))
        );
        assert_eq!(since_day("0d", now), Ok(day("2026-12-03")));
        assert_eq!(since_day("30d", now), Ok(day("2026-11-03")));
        assert_eq!(since_day("2w", now), Ok(day("2026-11-19")));
        let inside = since_day("2026-11-01T12:00:00Z", now).unwrap_err();
        assert!(inside.contains("inside the UTC day 2026-11-01"), "{inside}");
        assert!(inside.contains("per UTC day"), "{inside}");
        assert!(
            inside.contains("since=2026-11-01 (2026-11-01T00:00:00Z)")
                && inside.contains("since=2026-11-02 (2026-11-02T00:00:00Z)"),
            "{inside}"
        );
        let micro = since_day("2026-11-01T00:00:00.000001Z", now).unwrap_err();
        assert!(micro.contains("inside the UTC day 2026-11-01"), "{micro}");
        for hours in ["36h", "90m", "10s", "24h"] {
            let e = since_day(hours, now).unwrap_err();
            assert!(e.contains("per UTC day") && e.contains("Nd"), "{e}");
        }
        assert!(since_day("yesterday", now).is_err());
        assert!(since_day("99999999999999999d", now).is_err());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }
}
