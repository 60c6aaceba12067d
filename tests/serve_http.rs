//! `audit2role serve` over plain HTTP on loopback: ingest in every format, the answers
//! against the CLI's on the same events (byte for byte), bad bodies, limits, SIGTERM,
//! recovery from snapshot and journal, a torn journal tail, days and retention.

mod serve_support;

use serve_support::{cli, event_list, generated_log, metrics_text, testdata, Rng, Server};
use std::io::Write;

fn http_server(state: &std::path::Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--state-dir",
        state.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--insecure-http",
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

async fn post(c: &reqwest::Client, s: &Server, body: Vec<u8>, gz: bool) -> reqwest::Response {
    let mut r = c
        .post(s.url("/v1/events"))
        .header("Content-Type", "application/x-ndjson");
    let body = if gz {
        r = r.header("Content-Encoding", "gzip");
        gzip(&body)
    } else {
        body
    };
    r.body(body).send().await.unwrap()
}

async fn subjects(c: &reqwest::Client, s: &Server, query: &str) -> Vec<String> {
    let v: serde_json::Value = c
        .get(s.url(&format!("/v1/subjects{query}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap().to_string())
        .collect()
}

async fn rbac(c: &reqwest::Client, s: &Server, subject: &str, extra: &str) -> (u16, String) {
    let r = c
        .get(s.url("/v1/rbac"))
        .query(&[("user", subject)])
        .send_query_extra(extra)
        .await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// Adds `k=v&k2=v2` to a request being built.
trait ExtraQuery {
    async fn send_query_extra(self, extra: &str) -> reqwest::Response;
}

impl ExtraQuery for reqwest::RequestBuilder {
    async fn send_query_extra(self, extra: &str) -> reqwest::Response {
        let pairs: Vec<(&str, &str)> = extra
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        self.query(&pairs).send().await.unwrap()
    }
}

/// Every subject's `/v1/rbac` with `params` equals `audit2role --user S FLAGS LOG`.
async fn same_as_cli(c: &reqwest::Client, s: &Server, log: &str, params: &str, flags: &[&str]) {
    same_as_cli_every(c, s, log, params, flags, 1).await
}

/// [`same_as_cli`] for every `stride`-th subject.
async fn same_as_cli_every(
    c: &reqwest::Client,
    s: &Server,
    log: &str,
    params: &str,
    flags: &[&str],
    stride: usize,
) {
    let names = subjects(c, s, "").await;
    assert!(!names.is_empty());
    for name in names.iter().step_by(stride) {
        let (status, served) = rbac(c, s, name, params).await;
        let mut args = vec!["--user", name.as_str()];
        args.extend_from_slice(flags);
        args.push(log);
        let out = cli(&args);
        let expected = String::from_utf8(out.stdout).unwrap();
        if out.status.code() == Some(1) {
            assert_eq!(status, 404, "{name}: {served}");
            continue;
        }
        assert_eq!(status, 200, "{name}: {served}");
        assert_eq!(
            served, expected,
            "{name} with {params:?} differs from the CLI"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_format_answers_as_the_cli() {
    let c = client();
    let mut files = vec![testdata("audit.log")];
    for name in [
        "aks-records.json",
        "aks.jsonl",
        "eks-filter-log-events.json",
        "eks-insights.jsonl",
        "eks-subscription.json",
        "gke-array.json",
        "gke.jsonl",
    ] {
        files.push(testdata(&format!("cloud/{name}")));
    }
    for (i, file) in files.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let s = http_server(dir.path(), &[]);
        let body = std::fs::read(file).unwrap();
        let r = post(&c, &s, body, i % 2 == 1).await;
        assert_eq!(r.status(), 200, "{}", file.display());
        let summary: serde_json::Value = r.json().await.unwrap();
        assert!(summary["events"].as_u64().unwrap() > 0, "{summary}");
        same_as_cli(&c, &s, file.to_str().unwrap(), "", &[]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(shared_missing, ignore = "needs ../shared beside the checkout")]
async fn a_log_in_random_batch_sizes_answers_as_the_cli_byte_for_byte() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let log = generated_log(dir.path(), 4000, 20261203, 40);
    let log_name = log.to_str().unwrap().to_string();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let state = dir.path().join("state");
    // A small snapshot threshold, so that answers also come from snapshots.
    let s = http_server(&state, &["--snapshot-mb", "0.2"]);
    let mut rng = Rng(0x5eed_1234);
    let mut at = 0;
    let mut batches = 0;
    while at < lines.len() {
        let n = rng.range(1, 600) as usize;
        let part = &lines[at..(at + n).min(lines.len())];
        at += part.len();
        let body = if batches % 3 == 0 {
            format!("{}\n", part.join("\n"))
        } else {
            event_list(part)
        };
        let r = post(&c, &s, body.into_bytes(), batches % 2 == 0).await;
        assert_eq!(r.status(), 200);
        batches += 1;
    }
    assert!(batches > 10);
    same_as_cli(&c, &s, &log_name, "", &[]).await;
    for (params, flags) in [
        ("strict=true", vec!["--strict"]),
        ("evidence=true", vec!["--evidence"]),
        (
            "output=json&expand-verbs=false",
            vec!["-o", "json", "--expand-verbs=false"],
        ),
    ] {
        same_as_cli_every(&c, &s, &log_name, params, &flags, 4).await;
    }
    // The partial aggregate it serves is what `audit2role aggregate` makes of the log, and
    // every command takes it as input.
    let agg = c.get(s.url("/v1/aggregate")).send().await.unwrap();
    assert_eq!(agg.status(), 200);
    let served = dir.path().join("served.agg");
    std::fs::write(&served, agg.bytes().await.unwrap()).unwrap();
    let from_log = cli(&["--all-subjects", &log_name]);
    let from_agg = cli(&["--all-subjects", served.to_str().unwrap()]);
    assert!(from_log.status.success());
    assert_eq!(from_agg.stdout, from_log.stdout);
    // After SIGTERM and a restart (snapshot + journal), the same answers.
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    let s = http_server(&state, &[]);
    assert!(s.log().contains("generation "), "{}", s.log());
    same_as_cli(&c, &s, &log_name, "", &[]).await;
    let m = metrics_text(&c, &s).await;
    assert!(m.contains("audit2role_snapshot_bytes "), "{m}");
    assert!(
        !m.contains("audit2role_snapshot_bytes 0\n"),
        "a snapshot was made: {m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partly_bad_batches_keep_their_events_and_bad_bodies_get_the_reason() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let s = http_server(dir.path(), &["--max-body-mb", "1"]);
    let log = std::fs::read_to_string(testdata("audit.log")).unwrap();
    let body = format!("{log}\nthis is not json\n");
    let r = post(&c, &s, body.into_bytes(), false).await;
    assert_eq!(r.status(), 200);
    let summary: serde_json::Value = r.json().await.unwrap();
    assert_eq!(summary["events"], 22);
    assert_eq!(summary["skipped"]["invalid JSON"], 2);

    let r = post(&c, &s, b"kind: Event\nverb: get\n".to_vec(), false).await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("no usable audit event: line 1:"), "{text}");
    assert!(text.contains("looks like YAML"), "{text}");

    let r = post(&c, &s, Vec::new(), false).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("the body is empty"));

    let r = c
        .post(s.url("/v1/events"))
        .header("Content-Encoding", "gzip")
        .body(b"not gzip at all".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(s.url("/v1/events"))
        .header("Content-Encoding", "br")
        .body(log.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = post(&c, &s, vec![b' '; (1 << 20) + 1000], false).await;
    assert_eq!(r.status(), 413);

    // Events that are read but refused (unauthenticated requests) are no bad body.
    let unauthenticated = log
        .lines()
        .find(|l| l.contains("\"verb\""))
        .unwrap()
        .replace("\"code\":200", "\"code\":401");
    let r = post(&c, &s, unauthenticated.into_bytes(), false).await;
    assert_eq!(r.status(), 200);

    let (status, text) = rbac(&c, &s, "nobody", "").await;
    assert_eq!(status, 404, "{text}");
    let (status, text) = rbac(&c, &s, "alice", "strikt=1").await;
    assert_eq!(status, 400);
    assert!(text.contains("unknown parameter"), "{text}");

    let m = metrics_text(&c, &s).await;
    assert!(m.contains("audit2role_events_total 22\n"), "{m}");
    assert!(
        m.contains("audit2role_rejects_total{reason=\"no usable event\"} 2\n"),
        "{m}"
    );
    assert!(
        m.contains("audit2role_rejects_total{reason=\"too large\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("audit2role_subjects 4\n"), "{m}");
    let v: serde_json::Value = c
        .get(s.url("/v1/subjects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let distinct: u64 = v["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["distinct"].as_u64().unwrap())
        .sum();
    assert!(distinct > 4);
    assert!(
        m.contains(&format!("audit2role_distinct_requests {distinct}\n")),
        "{m}"
    );
    assert_eq!(c.get(s.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(c.get(s.url("/readyz")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_journal_tail_is_reported_and_dropped() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let s = http_server(dir.path(), &[]);
    let log = std::fs::read(testdata("audit.log")).unwrap();
    assert_eq!(post(&c, &s, log, false).await.status(), 200);
    let (_, before) = rbac(&c, &s, "alice", "").await;
    s.kill();
    let journal = dir.path().join("journal-0");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    // The start of a record that claims 1000 bytes and has 3.
    f.write_all(&[0xe8, 0x03, 0, 0, 1, 2, 3, 4, b'a', b'b', b'c'])
        .unwrap();
    drop(f);
    let s = http_server(dir.path(), &[]);
    assert!(
        s.log().contains("11 bytes of a torn or damaged record"),
        "{}",
        s.log()
    );
    let (_, after) = rbac(&c, &s, "alice", "").await;
    assert_eq!(after, before);
    let m = metrics_text(&c, &s).await;
    assert!(
        m.contains("audit2role_journal_torn_tail_bytes_total 11\n"),
        "{m}"
    );
}

/// An event of `user` at `time`.
fn event_at(user: &str, resource: &str, time: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"x","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/dev/{resource}","verb":"list","user":{{"username":"{user}","groups":["system:authenticated"]}},"objectRef":{{"resource":"{resource}","namespace":"dev","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{time}","stageTimestamp":"{time}"}}"#
    )
}

fn days_ago(days: i64) -> String {
    let now = audit2role::request::select::now_micros();
    audit2role::time::format_rfc3339_micros(now - days * 86_400_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_take_a_window_of_days_and_retention_drops_old_days() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let s = http_server(dir.path(), &["--retain", "90d"]);
    let lines = [
        event_at("today", "pods", &days_ago(0)),
        event_at("recent", "pods", &days_ago(10)),
        event_at("recent", "secrets", &days_ago(40)),
        event_at("old", "pods", &days_ago(100)),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let r = post(&c, &s, event_list(&refs).into_bytes(), false).await;
    assert_eq!(r.status(), 200);
    assert_eq!(subjects(&c, &s, "").await, vec!["recent", "today"]);
    assert_eq!(subjects(&c, &s, "?since=5d").await, vec!["today"]);
    let v: serde_json::Value = c
        .get(s.url("/v1/subjects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recent = &v["subjects"][0];
    assert_eq!(recent["kind"], "User");
    assert_eq!(recent["requests"], 2);
    assert_eq!(recent["distinct"], 2);
    assert_eq!(recent["first"].as_str().unwrap()[..10], days_ago(40)[..10]);
    assert_eq!(recent["last"].as_str().unwrap()[..10], days_ago(10)[..10]);
    let (_, month) = rbac(&c, &s, "recent", "since=30d").await;
    assert!(
        month.contains("- pods\n") && !month.contains("secrets"),
        "{month}"
    );
    let (_, all) = rbac(&c, &s, "recent", "").await;
    assert!(all.contains("secrets"), "{all}");
    let (status, _) = rbac(&c, &s, "old", "").await;
    assert_eq!(status, 404);
    // The retention holds after a restart too (the journal still has the old day).
    s.terminate();
    let s = http_server(dir.path(), &["--retain", "90d"]);
    assert_eq!(subjects(&c, &s, "").await, vec!["recent", "today"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_gets_429_with_retry_after_and_a_second_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // One batch in the queue, two bodies in flight at most.
    let s = http_server(dir.path(), &["--queue", "1", "--max-in-flight", "2"]);
    let log = std::fs::read_to_string(testdata("audit.log")).unwrap();
    let body = log.repeat(200);
    let c = client();
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (c, url, body) = (c.clone(), s.url("/v1/events"), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = c.post(url).body(body).send().await.unwrap();
            let retry = r.headers().get("retry-after").cloned();
            (r.status().as_u16(), retry)
        }));
    }
    let mut busy = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => {}
            (429, Some(retry)) => {
                assert_eq!(retry, "1");
                busy += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(busy > 0, "24 bodies at once never met a full server");
    let m = metrics_text(&c, &s).await;
    let refused: u64 = m
        .lines()
        .filter(|l| {
            l.starts_with("audit2role_rejects_total{reason=\"busy\"}")
                || l.starts_with("audit2role_rejects_total{reason=\"queue full\"}")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(refused, busy);
    let stored = (24 - busy) * 22 * 200;
    assert!(
        m.contains(&format!("audit2role_events_total {stored}\n")),
        "{m}"
    );

    // A second server on the same state directory is refused.
    let out = cli(&[
        "serve",
        "--state-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--insecure-http",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another audit2role serve"));
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(&[
        "serve",
        "--state-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
        "--insecure-http",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback addresses only"), "{err}");
    let out = cli(&["serve", "--state-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-cert and --tls-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_in_flight_finish_and_store_it() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let s = http_server(dir.path(), &[]);
    let addr = s.base.trim_start_matches("http://").to_string();
    let body = std::fs::read(testdata("audit.log")).unwrap();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body[..100]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SIGTERM while the body is half sent; then the rest of it.
    unsafe {
        libc::kill(s.child.id() as i32, libc::SIGTERM);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    stream.write_all(&body[100..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"events\":22"), "{answer}");
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    // The batch answered during the drain is in the state after a restart.
    let s = http_server(dir.path(), &[]);
    let c = client();
    let (status, text) = rbac(&c, &s, "alice", "").await;
    assert_eq!(status, 200, "{text}");
    let expected = cli(&["--user", "alice", testdata("audit.log").to_str().unwrap()]);
    assert_eq!(text, String::from_utf8(expected.stdout).unwrap());
}

/// `GET /v1/report` is the page `diff --all-subjects -o html` makes, against the dump given
/// with `--rbac`: every subject the CLI's diff reports has its section; without `--rbac`
/// there is no report to give (404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_the_diff_page_for_the_stored_activity() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let rbac_file = testdata("diff-rbac.yaml").display().to_string();
    let log = testdata("audit.log").display().to_string();
    let s = http_server(&dir.path().join("state"), &["--rbac", &rbac_file]);
    let r = post(&c, &s, std::fs::read(&log).unwrap(), false).await;
    assert_eq!(r.status().as_u16(), 200);
    let r = c.get(s.url("/v1/report")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("Content-Security-Policy"), "{page}");
    let out = cli(&[
        "diff",
        "-q",
        "--rbac",
        &rbac_file,
        "--all-subjects",
        "-o",
        "json",
        &log,
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let subjects = json["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 4);
    assert_eq!(
        page.matches("<section class=\"card subject\"").count(),
        subjects.len()
    );
    for subject in subjects {
        let name = subject["subject"].as_str().unwrap();
        assert!(page.contains(name), "{name} is not in the page");
    }

    let dir = tempfile::tempdir().unwrap();
    let bare = http_server(&dir.path().join("state"), &[]);
    let r = c.get(bare.url("/v1/report")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.text().await.unwrap().contains("--rbac"));
}

/// testdata/audit.log spread over four UTC days: line i on 2026-11-0(1 + i % 4), at its own
/// time of day.
fn four_day_log(dir: &std::path::Path) -> String {
    let log = std::fs::read_to_string(testdata("audit.log")).unwrap();
    let spread: String = log
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let day = format!("2026-11-0{}T", 1 + i % 4);
            format!("{}\n", line.replace("2026-11-02T", &day))
        })
        .collect();
    let path = dir.join("four-days.log");
    std::fs::write(&path, spread).unwrap();
    path.display().to_string()
}

/// `since` selects whole UTC days, as the state keeps them: at a day boundary the answer is
/// the CLI's `--since DAYT00:00:00Z` byte for byte, and the header names the start used; a
/// `since` inside a day, or in hours, is refused with 400 and the boundaries possible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_at_a_day_boundary_is_the_clis_since_and_inside_a_day_is_refused() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let log = four_day_log(dir.path());
    let s = http_server(&dir.path().join("state"), &[]);
    let r = post(&c, &s, std::fs::read(&log).unwrap(), false).await;
    assert_eq!(r.status(), 200);

    for (param, instant) in [
        ("2026-11-01", "2026-11-01T00:00:00Z"),
        ("2026-11-02", "2026-11-02T00:00:00Z"),
        ("2026-11-03T00:00:00Z", "2026-11-03T00:00:00Z"),
        ("2026-11-04T01:00:00+01:00", "2026-11-04T00:00:00Z"),
        ("2026-11-05", "2026-11-05T00:00:00Z"),
    ] {
        let params = format!("since={param}");
        same_as_cli(&c, &s, &log, &params, &["--since", instant]).await;
        let with_evidence = format!("{params}&evidence=true");
        same_as_cli(
            &c,
            &s,
            &log,
            &with_evidence,
            &["--since", instant, "--evidence"],
        )
        .await;
        for route in ["/v1/rbac?user=alice&", "/v1/subjects?", "/v1/aggregate?"] {
            let r = c
                .get(s.url(&format!("{route}{}", params.replace('+', "%2B"))))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.headers()["x-audit2role-since"].to_str().unwrap(),
                instant,
                "{route}{params}"
            );
        }
    }
    // The window matters: a later start leaves some of alice's requests out.
    let (_, all) = rbac(&c, &s, "alice", "").await;
    let (_, late) = rbac(&c, &s, "alice", "since=2026-11-04").await;
    assert_ne!(all, late);
    let r = c.get(s.url("/v1/rbac?user=alice")).send().await.unwrap();
    assert_eq!(r.headers()["x-audit2role-since"], "all");

    for route in ["/v1/rbac?user=alice&", "/v1/subjects?", "/v1/aggregate?"] {
        let text = refused(&c, &s, &format!("{route}since=2026-11-02T12:00:00Z")).await;
        assert!(
            text.contains("inside the UTC day 2026-11-02")
                && text.contains("the state keeps activity per UTC day")
                && text.contains("since=2026-11-02 (2026-11-02T00:00:00Z)")
                && text.contains("since=2026-11-03 (2026-11-03T00:00:00Z)"),
            "{route}: {text}"
        );
        let text = refused(&c, &s, &format!("{route}since=36h")).await;
        assert!(
            text.contains("per UTC day") && text.contains("Nd"),
            "{text}"
        );
    }
}

/// The text of the 400 that `path` gets.
async fn refused(c: &reqwest::Client, s: &Server, path: &str) -> String {
    let r = c.get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 400, "{path}");
    r.text().await.unwrap()
}

/// `/v1/rbac?existing=true` leaves out what the dump given with `--rbac` allows, byte for
/// byte as `audit2role --user S --existing DUMP LOG`; without `--rbac` it is refused (400).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_subtracts_the_rbac_dump_as_the_clis_existing() {
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let log = four_day_log(dir.path());
    let body = std::fs::read(&log).unwrap();
    for (i, dump) in ["diff-rbac.yaml", "cluster-rbac.yaml"].iter().enumerate() {
        let dump = testdata(dump).display().to_string();
        let state = dir.path().join(format!("state-{i}"));
        let s = http_server(&state, &["--rbac", &dump]);
        let r = post(&c, &s, body.clone(), false).await;
        assert_eq!(r.status(), 200);
        same_as_cli(&c, &s, &log, "existing=true", &["--existing", &dump]).await;
        same_as_cli(
            &c,
            &s,
            &log,
            "existing=true&evidence=true&since=2026-11-02",
            &[
                "--existing",
                &dump,
                "--evidence",
                "--since",
                "2026-11-02T00:00:00Z",
            ],
        )
        .await;
        same_as_cli(
            &c,
            &s,
            &log,
            "existing=true&output=json&strict=true",
            &["--existing", &dump, "-o", "json", "--strict"],
        )
        .await;
        // existing=false is the plain answer.
        same_as_cli(&c, &s, &log, "existing=false", &[]).await;
    }
    // The dump matters: some subject's answer is smaller with it.
    let dump = testdata("diff-rbac.yaml").display().to_string();
    let s = http_server(&dir.path().join("state-diff"), &["--rbac", &dump]);
    let r = post(&c, &s, body.clone(), false).await;
    assert_eq!(r.status(), 200);
    let mut differs = 0;
    for name in subjects(&c, &s, "").await {
        let (_, plain) = rbac(&c, &s, &name, "").await;
        let (_, less) = rbac(&c, &s, &name, "existing=true").await;
        differs += usize::from(plain != less);
    }
    assert!(differs > 0, "the dump allows nothing the log did");
    // The report names its window too, and refuses one inside a day.
    let r = c
        .get(s.url("/v1/report?since=2026-11-02"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-audit2role-since"], "2026-11-02T00:00:00Z");
    refused(&c, &s, "/v1/report?since=2026-11-02T00:00:01Z").await;

    let bare = http_server(&dir.path().join("state-bare"), &[]);
    let r = post(&c, &bare, body, false).await;
    assert_eq!(r.status(), 200);
    let (status, text) = rbac(&c, &bare, "alice", "existing=true").await;
    assert_eq!(status, 400);
    assert!(text.contains("--rbac DUMP"), "{text}");
    let (status, _) = rbac(&c, &bare, "alice", "existing=false").await;
    assert_eq!(status, 200);
}
