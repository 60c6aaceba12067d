//! The HTML report (`diff -o html`): its overview lists every subject with the numbers of
//! `diff -o json`; names from logs and dumps that try to inject markup or script stay text;
//! and in a real browser (headless Chromium, opening the page from disk) the page renders,
//! its own script runs under its Content-Security-Policy, injected payloads do not, and the
//! screenshot is not blank. The browser tests are ignored where no `chromium` is on PATH
//! outside CI, and fail under CI (see build.rs).

mod common;

use common::{run, stdout, testdata};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Payloads that each try to change the page's title if they ever run.
const SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "\"><img src=x onerror=\"document.title='pwned'\">";
const URL: &str = "javascript:document.title='pwned'";

fn tmp(name: &str) -> PathBuf {
    common::scratch(name)
}

fn diff(rbac: &str, log: &str, format: &str) -> std::process::Output {
    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        rbac,
        "--all-subjects",
        "-o",
        format,
        log,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    o
}

/// A log whose subjects, namespaces, resources, groups and names are payloads, and a dump
/// whose role, binding and namespace names and resource names are too.
fn hostile_inputs() -> (String, String) {
    let mut lines = String::new();
    let mut n = 0;
    let mut event = |user: &str, verb: &str, uri: &str, object: Option<Value>, t: &str, code| {
        n += 1;
        let mut e = json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": format!("id-{n}"), "stage": "ResponseComplete", "requestURI": uri,
            "verb": verb, "user": {"username": user, "groups": ["system:authenticated", IMG]},
            "responseStatus": {"code": code}, "requestReceivedTimestamp": t, "stageTimestamp": t,
            "annotations": {"authorization.k8s.io/decision": if code == 403 { "forbid" } else { "allow" }},
        });
        if let Some(o) = object {
            e["objectRef"] = o;
        }
        lines.push_str(&e.to_string());
        lines.push('\n');
    };
    for (i, user) in [SCRIPT, IMG, URL].into_iter().enumerate() {
        event(
            user,
            "get",
            "/api/v1/namespaces/x/pods/y",
            Some(json!({"resource": "pods", "namespace": SCRIPT, "name": IMG, "apiVersion": "v1"})),
            &format!("2026-11-0{}T10:00:00Z", i + 1),
            200,
        );
        event(
            user,
            "list",
            "/apis/x/v1/y",
            Some(json!({"resource": URL, "apiGroup": IMG, "namespace": URL, "apiVersion": "v1"})),
            &format!("2026-11-0{}T11:00:00Z", i + 2),
            403,
        );
        event(user, "get", URL, None, "2026-11-05T11:00:00Z", 200);
    }
    let binding = |name: &str, namespace: &str, user: &str| {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": SCRIPT},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        })
    };
    let dump = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": SCRIPT},
         "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get"], "resourceNames": [IMG]}]},
        binding(IMG, SCRIPT, SCRIPT),
        binding(URL, SCRIPT, IMG),
        binding(SCRIPT, URL, URL),
    ]});
    let log = tmp("hostile.log");
    let rbac = tmp("hostile-rbac.json");
    std::fs::write(&log, lines).unwrap();
    std::fs::write(&rbac, dump.to_string()).unwrap();
    (rbac.display().to_string(), log.display().to_string())
}

/// Text as HTML serializes it (the page's escaping, or Chromium's), back to text.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// One row of the overview table.
#[derive(Debug, PartialEq)]
struct Row {
    subject: String,
    granted: u64,
    used: u64,
    score: f64,
    highest: u64,
    not_allowed: u64,
}

/// The overview rows of a page (as written, or as Chromium serializes its DOM).
fn overview(html: &str) -> Vec<Row> {
    let row = regex::Regex::new(r#"(?s)<tr class="subject-row">(.*?)</tr>"#).unwrap();
    let subject =
        regex::Regex::new(r##"<td class="subject"><a href="#s\d+">(.*?)</a></td>"##).unwrap();
    let number = |cells: &str, class: &str| -> f64 {
        let re =
            regex::Regex::new(&format!(r#"<td class="num {class}" data-v="([0-9.]+)">"#)).unwrap();
        re.captures(cells)
            .unwrap_or_else(|| panic!("no {class} in {cells}"))[1]
            .parse()
            .unwrap()
    };
    row.captures_iter(html)
        .map(|c| {
            let cells = &c[1];
            Row {
                subject: unescape(&subject.captures(cells).expect("subject cell")[1]),
                granted: number(cells, "granted") as u64,
                used: number(cells, "used") as u64,
                score: number(cells, "score"),
                highest: number(cells, "highest") as u64,
                not_allowed: number(cells, "not-allowed") as u64,
            }
        })
        .collect()
}

/// The rows `diff -o json` implies, sorted by subject.
fn rows_of_json(report: &Value) -> Vec<Row> {
    let rank = |level: &str| match level {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        other => panic!("level {other}"),
    };
    let mut rows: Vec<Row> = report["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Row {
            subject: s["subject"].as_str().unwrap().to_string(),
            granted: s["granted"].as_u64().unwrap(),
            used: s["used"].as_u64().unwrap(),
            score: s["score"].as_f64().unwrap(),
            highest: s["unusedGrants"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|g| g["risks"].as_array().unwrap())
                .map(|r| rank(r["level"].as_str().unwrap()))
                .max()
                .unwrap_or(0),
            not_allowed: s["notAllowed"].as_array().unwrap().len() as u64,
        })
        .collect();
    rows.sort_by(|a, b| a.subject.cmp(&b.subject));
    rows
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| a.subject.cmp(&b.subject));
    rows
}

#[test]
fn overview_has_every_subject_with_the_json_numbers_worst_first() {
    let rbac = testdata("diff-rbac.yaml");
    let log = testdata("audit.log");
    let html = stdout(&diff(&rbac, &log, "html"));
    let json: Value = serde_json::from_slice(&diff(&rbac, &log, "json").stdout).unwrap();
    let rows = overview(&html);
    assert_eq!(rows.len(), 4);
    // alice has the only unused high-risk grant (list secrets): first.
    assert_eq!(rows[0].subject, "alice");
    // The default system:discovery grant is shown apart and not scored, as in the table.
    assert_eq!((rows[0].granted, rows[0].used, rows[0].highest), (6, 4, 3));
    assert_eq!(sorted(rows), rows_of_json(&json));
    // A section per subject, with the suggestion generate would write.
    assert_eq!(html.matches("<section class=\"card subject\"").count(), 4);
    assert!(html.contains("kind: ClusterRole\n"));
    assert!(html.contains("RoleBinding/dev/alice-secrets -&gt; Role/secret-reader rule 2"));
    assert!(html.contains("<h3>Observed requests the dump does not allow (6)</h3>"));
    // Self-contained: no URL to fetch anything from, one script, one style sheet.
    for outside in ["http:", "https:", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}");
    }
    assert_eq!(html.matches("<script").count(), 1);
    assert_eq!(html.matches("<style").count(), 1);
    assert!(html.contains(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        audit2role::render::html::content_security_policy()
    )));
    // The run's inputs.
    assert!(html.contains(&format!("<td>{log}</td>")));
}

#[test]
fn one_subject_page_has_its_activity_per_day() {
    let o = run(&[
        "diff",
        "-q",
        "--rbac",
        &testdata("diff-rbac.yaml"),
        "--user",
        "alice",
        "-o",
        "html",
        &testdata("audit.log"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let html = stdout(&o);
    let rows = overview(&html);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].subject, "alice");
    // All of alice's requests are on 2026-11-02, one of them denied. Per day, requests are
    // the day's events at its most-logged stage: 12 completed (one denied); the requests
    // she has beyond those were logged only at RequestReceived or ResponseStarted.
    assert!(html.contains("13 requests (13 distinct, 1 denied)"));
    assert!(
        html.contains("<title>2026-11-02: 12 requests, 1 denied</title>"),
        "{html}"
    );
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 1);
}

#[test]
fn hostile_names_are_escaped_in_the_page() {
    let (rbac, log) = hostile_inputs();
    let html = stdout(&diff(&rbac, &log, "html"));
    let json: Value = serde_json::from_slice(&diff(&rbac, &log, "json").stdout).unwrap();
    assert_eq!(sorted(overview(&html)), rows_of_json(&json));
    assert_eq!(json["subjects"].as_array().unwrap().len(), 3);
    // Every payload is in the page, escaped, and never raw.
    for payload in [SCRIPT, IMG, URL] {
        let escaped = audit2role::render::html::escape(payload);
        assert!(html.contains(escaped.as_ref()), "{payload}");
    }
    assert!(!html.contains("<script>document"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("onerror=\""));
    assert!(!html.contains("href=\"javascript"));
    assert!(!html.contains("'pwned'"));
    assert_eq!(html.matches("<script").count(), 1);
    // Names reach subjects, namespaces, resources and bindings.
    assert!(html.contains("namespace javascript:document.title=&#39;pwned&#39;"));
    assert!(html.contains(
        "RoleBinding/javascript:document.title=&#39;pwned&#39;/&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; -&gt; ClusterRole/"
    ));
}

/// Headless Chromium on `args`, with its own profile, stopped after a minute.
fn chromium(args: &[&str]) -> std::process::Output {
    let profile = tmp(&format!(
        "chromium-profile-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let o = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs (install Debian's chromium package)");
    assert!(
        o.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&profile);
    o
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The DOM Chromium builds from the page at `path` once its script has run, and what the
/// page wrote to the console (script errors, Content-Security-Policy violations).
fn dom(path: &Path) -> (String, String) {
    let o = chromium(&[
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        &file_url(path),
    ]);
    let console: Vec<String> = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    (
        String::from_utf8(o.stdout).expect("the DOM is UTF-8"),
        console.join("\n"),
    )
}

#[test]
#[cfg_attr(
    chromium_missing,
    ignore = "chromium is not installed (CI installs it)"
)]
fn browser_shows_every_subject_with_the_json_numbers() {
    let rbac = testdata("diff-rbac.yaml");
    let log = testdata("audit.log");
    let page = tmp("audit.html");
    std::fs::write(&page, diff(&rbac, &log, "html").stdout).unwrap();
    let json: Value = serde_json::from_slice(&diff(&rbac, &log, "json").stdout).unwrap();
    let (dom, console) = dom(&page);
    // The page's own script ran, allowed by the policy's hash, with no error, and nothing
    // (style sheet included) was refused.
    assert!(dom.contains("<html lang=\"en\" class=\"js\">"), "{dom}");
    assert_eq!(console, "", "the page wrote to the console");
    assert_eq!(sorted(overview(&dom)), rows_of_json(&json));
    assert!(dom.contains("<title>Permission audit: 4 subjects</title>"));
}

#[test]
#[cfg_attr(
    chromium_missing,
    ignore = "chromium is not installed (CI installs it)"
)]
fn browser_runs_none_of_the_injected_names() {
    let (rbac, log) = hostile_inputs();
    let html = stdout(&diff(&rbac, &log, "html"));
    let json: Value = serde_json::from_slice(&diff(&rbac, &log, "json").stdout).unwrap();
    // The page as written, and without its Content-Security-Policy: escaping alone must
    // keep every payload text.
    let csp = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        audit2role::render::html::content_security_policy()
    );
    assert!(html.contains(&csp));
    // Raw `<` starts an element in a serialized DOM (text has `&lt;`): no element may
    // carry an event handler or a script URL.
    let handler =
        regex::Regex::new(r#"<[a-zA-Z][^>]*\s(on[a-z]+|href|src)=\"?(javascript|[^"]*pwned)"#)
            .unwrap();
    for (label, text) in [
        ("with-csp", html.clone()),
        ("without-csp", html.replace(&csp, "")),
    ] {
        let page = tmp(&format!("hostile-{label}.html"));
        std::fs::write(&page, &text).unwrap();
        let (dom, console) = dom(&page);
        // Nothing tried to run (an injected script would be refused, and say so, under the
        // policy) and our script raised no error.
        assert_eq!(console, "", "{label}: the page wrote to the console");
        // Had any payload run, the title would be "pwned".
        assert!(
            dom.contains("<title>Permission audit: 3 subjects</title>"),
            "{label}: {dom}"
        );
        assert!(
            dom.contains("class=\"js\""),
            "{label}: our script did not run"
        );
        assert_eq!(dom.matches("<script").count(), 1, "{label}");
        // No image was made, no handler or script URL is an attribute.
        assert!(!handler.is_match(&dom), "{label}");
        assert!(!dom.contains("<img"), "{label}");
        // The names are there as text.
        assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
        assert_eq!(sorted(overview(&dom)), rows_of_json(&json), "{label}");
    }
}

#[test]
#[cfg_attr(
    chromium_missing,
    ignore = "chromium is not installed (CI installs it)"
)]
fn browser_screenshot_is_not_blank() {
    let page = tmp("shot.html");
    std::fs::write(
        &page,
        diff(&testdata("diff-rbac.yaml"), &testdata("audit.log"), "html").stdout,
    )
    .unwrap();
    let shot = tmp("shot.png");
    chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1200,900",
        &file_url(&page),
    ]);
    let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("a screenshot"));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    let channels = info.color_type.samples();
    let mut counts = std::collections::HashMap::new();
    for p in pixels[..info.buffer_size()].chunks(channels) {
        *counts.entry(p[..3].to_vec()).or_insert(0usize) += 1;
    }
    let total = (info.width * info.height) as usize;
    let commonest = counts.values().copied().max().unwrap();
    // Text, tables and the coloured risk badges and bars: many colours, no one colour
    // covering almost everything.
    assert!(counts.len() > 50, "{} colours", counts.len());
    assert!(
        commonest < total * 9 / 10,
        "{commonest} of {total} pixels alike"
    );
    // The risk colours are drawn: the high-risk badge and bar (#c2410c).
    assert!(
        counts.contains_key(&vec![0xc2, 0x41, 0x0c]),
        "no high-risk colour"
    );
}

/// The page without the time it was made.
fn without_made_at(html: &str) -> String {
    let made = regex::Regex::new(r"made by audit2role \S+ at (\S+Z)\.</p></header>").unwrap();
    let at = made.captures(html).expect("the time the page was made")[1].to_string();
    html.replace(&at, "TIME")
}

#[test]
#[cfg_attr(shared_missing, ignore = "../shared is missing (CI has it)")]
fn the_page_is_the_same_whatever_the_threads_and_from_partial_aggregates() {
    let tool = common::shared_dir().join("tools/gen_audit_log.py");
    let log = tmp("threads.log");
    let status = Command::new("python3")
        .arg(&tool)
        .args([
            "--events",
            "8000",
            "--seed",
            "5",
            "--subjects",
            "40",
            "--body-ratio",
            "0",
            "--out",
        ])
        .arg(&log)
        .status()
        .expect("python3 runs the shared generator");
    assert!(status.success());
    let log = log.display().to_string();
    let rbac = testdata("cluster-rbac.yaml");
    let page = |extra: &[&str], input: &str| {
        let mut args = vec![
            "diff",
            "-q",
            "--rbac",
            &rbac,
            "--all-subjects",
            "-o",
            "html",
        ];
        args.extend_from_slice(extra);
        args.push(input);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        without_made_at(&stdout(&o))
    };
    let one = page(&["--threads", "1"], &log);
    assert_eq!(page(&["--threads", "3"], &log), one);
    assert!(overview(&one).len() >= 30);
    // The activity survives a partial aggregate (only the inputs table differs).
    let agg = tmp("threads.agg");
    let o = run(&["aggregate", "-q", "-o", agg.to_str().unwrap(), &log]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let merged = page(&[], agg.to_str().unwrap());
    let charts = |html: &str| -> Vec<String> {
        let re = regex::Regex::new(r#"(?s)<svg class="activity".*?</svg>"#).unwrap();
        re.find_iter(html).map(|m| m.as_str().to_string()).collect()
    };
    assert_eq!(charts(&merged), charts(&one));
    assert_eq!(charts(&one).len(), overview(&one).len());
    let body = |html: &str| html[..html.find("id=\"run\"").unwrap()].to_string();
    assert_eq!(body(&merged), body(&one));
}
