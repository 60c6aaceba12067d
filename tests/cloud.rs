//! Cloud exports (GKE Cloud Logging, EKS CloudWatch Logs, AKS diagnostic records): each
//! sample in testdata/cloud describes the same requests as testdata/cloud/native-equivalent.log
//! and must aggregate to the same subjects and requests; the real samples in
//! ../shared/corpus must give the requests a native log of those events would give.

mod common;

use audit2role::decode::FileReport;
use audit2role::read::expand_sources;
use audit2role::{read_inputs, ReadOptions};
use std::collections::BTreeMap;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_audit2role");

fn cloud(name: &str) -> String {
    format!("{}/testdata/cloud/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Per subject: each distinct request with its counts and times, sorted.
type Summary = BTreeMap<String, Vec<String>>;

fn read_with(paths: &[String], options: &ReadOptions) -> (Summary, Vec<FileReport>) {
    let sources = expand_sources(paths).expect("inputs exist");
    let (agg, reports) = read_inputs(&sources, options).expect("inputs read");
    let mut out = Summary::new();
    for (subject, s) in &agg.subjects {
        let mut rows: Vec<String> = s
            .requests
            .iter()
            .map(|(request, by_groups)| {
                let total = by_groups.total();
                let (completed, denied, first, last) =
                    (total.completed, total.denied, total.first, total.last);
                format!("{request} | completed {completed} denied {denied} first {first:?} last {last:?}")
            })
            .collect();
        rows.sort();
        out.insert(subject.clone(), rows);
    }
    (out, reports)
}

fn read(paths: &[String]) -> (Summary, Vec<FileReport>) {
    read_with(
        paths,
        &ReadOptions {
            threads: 1,
            ..ReadOptions::default()
        },
    )
}

fn skipped(report: &FileReport) -> Vec<(String, u64)> {
    report
        .skipped
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[test]
fn every_format_gives_the_native_requests() {
    let (native, reports) = read(&[cloud("native-equivalent.log")]);
    assert_eq!(reports[0].events, 15);
    assert_eq!(reports[0].skipped_total(), 0);
    assert_eq!(native.len(), 3, "{native:#?}");
    let cases: &[(&str, &[(&str, u64)])] = &[
        ("gke.jsonl", &[("not a Kubernetes audit entry", 1)]),
        ("gke-array.json", &[]),
        (
            "eks-subscription.json",
            &[("CloudWatch control message", 1)],
        ),
        (
            "eks-filter-log-events.json",
            &[("message not an audit event", 1)],
        ),
        ("eks-insights.jsonl", &[]),
        ("aks.jsonl", &[("not an audit category", 1)]),
        ("aks-records.json", &[]),
    ];
    for (file, want_skips) in cases {
        let want_skips: Vec<(String, u64)> = want_skips
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        for threads in [1, 2] {
            let options = ReadOptions {
                threads,
                block_size: 2048,
                ..ReadOptions::default()
            };
            let (got, reports) = read_with(&[cloud(file)], &options);
            assert_eq!(got, native, "{file} (threads {threads})");
            assert_eq!(
                reports[0].events, 15,
                "{file}: one event per embedded event"
            );
            assert_eq!(skipped(&reports[0]), want_skips, "{file}: {:?}", reports[0]);
        }
    }
}

#[test]
fn skip_reasons_name_the_record() {
    let (_, reports) = read(&[cloud("gke.jsonl")]);
    assert_eq!(reports[0].examples.len(), 1);
    let (line, reason) = &reports[0].examples[0];
    assert_eq!(*line, 9);
    assert!(reason.contains("container.googleapis.com"), "{reason}");
    let (_, reports) = read(&[cloud("aks.jsonl")]);
    let (line, reason) = &reports[0].examples[0];
    assert_eq!(*line, 6);
    assert!(reason.contains("\"kube-apiserver\""), "{reason}");
    let (_, reports) = read(&[cloud("eks-filter-log-events.json")]);
    let (line, reason) = &reports[0].examples[0];
    assert_eq!(*line, 1, "a document reports its first line");
    assert!(reason.contains("authenticator-"), "{reason}");
}

/// Native lines and every one-per-line cloud shape in one file: the same distinct requests,
/// each seen once per copy.
#[test]
fn formats_mix_in_one_file() {
    let dir = common::scratch_dir("cloud");
    let mut text = String::new();
    for file in [
        "native-equivalent.log",
        "gke.jsonl",
        "eks-subscription.json",
        "eks-insights.jsonl",
        "aks.jsonl",
        "gke-array.json",
        "aks-records.json",
    ] {
        text.push_str(&std::fs::read_to_string(cloud(file)).unwrap());
    }
    let mixed = dir.join("mixed.log");
    std::fs::write(&mixed, &text).unwrap();
    let (got, reports) = read(&[mixed.display().to_string()]);
    assert_eq!(reports[0].events, 15 * 7);
    assert_eq!(reports[0].skipped_total(), 3);
    let (native, _) = read(&[cloud("native-equivalent.log")]);
    let keys = |s: &Summary| -> Vec<String> {
        s.iter()
            .flat_map(|(k, rows)| {
                rows.iter()
                    .map(move |r| format!("{k}: {}", r.split(" | ").next().unwrap()))
            })
            .collect()
    };
    assert_eq!(keys(&got), keys(&native));
    assert!(
        got["bob"][0].contains("completed 7 denied 7"),
        "{:?}",
        got["bob"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Firehose writes CloudWatch subscription batches to S3 back to back, without newlines.
#[test]
fn back_to_back_batches_on_one_line() {
    let text = std::fs::read_to_string(cloud("eks-subscription.json")).unwrap();
    let dir = common::scratch_dir("firehose");
    let path = dir.join("firehose");
    std::fs::write(&path, text.replace('\n', "")).unwrap();
    let (got, reports) = read(&[path.display().to_string()]);
    let (native, _) = read(&[cloud("native-equivalent.log")]);
    assert_eq!(got, native);
    assert_eq!(reports[0].lines, 1);
    assert_eq!(reports[0].events, 15);
    assert_eq!(
        skipped(&reports[0]),
        vec![("CloudWatch control message".to_string(), 1)]
    );
    // Anything else after an object is still invalid JSON.
    std::fs::write(&path, "{\"verb\":\"get\"} x\n").unwrap();
    let (_, reports) = read(&[path.display().to_string()]);
    assert_eq!(skipped(&reports[0]), vec![("invalid JSON".to_string(), 1)]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Shapes not kept as files: an Insights export as a JSON array, a single CloudWatch record,
/// an AKS record whose `properties.log` is an object, and damaged embedded events.
#[test]
fn other_shapes_and_damaged_embedded_events() {
    let native = std::fs::read_to_string(cloud("native-equivalent.log")).unwrap();
    let lines: Vec<&str> = native.lines().collect();
    let quoted = |l: &str| serde_json::to_string(l).unwrap();
    let insights_array = format!(
        "[\n  {{\"@timestamp\":\"2026-03-02 10:00:00.000\",\"@message\":{}}},\n  {{\"@message\":{}}}\n]\n",
        quoted(lines[0]),
        quoted(lines[1])
    );
    let record = format!(
        "{{\"timestamp\":1772445600000,\"message\":{}}}\n",
        quoted(lines[2])
    );
    let aks_object = format!(
        "{{\"category\":\"kube-audit\",\"properties\":{{\"log\":{}}}}}\n",
        lines[3]
    );
    let damaged = concat!(
        "{\"message\":\"{\\\"verb\\\":\"}\n",
        "{\"@message\":\"[1]\"}\n",
        "{\"category\":\"kube-audit\",\"properties\":{}}\n",
        "{\"category\":\"kube-audit\",\"properties\":{\"log\":\"{\\\"verb\\\":5}\"}}\n",
        "{\"message\":\"{\\\"message\\\":\\\"x\\\"}\"}\n",
        "{\"protoPayload\":{\"serviceName\":\"k8s.io\",\"methodName\":\"io.k8s.core.v1.pods.get\",\"resourceName\":\"core/v1/namespaces/a/pods/p\"}}\n",
    );
    let dir = common::scratch_dir("shapes");
    let path = dir.join("shapes.log");
    std::fs::write(
        &path,
        format!("{insights_array}{record}{aks_object}{damaged}"),
    )
    .unwrap();
    let (got, reports) = read(&[path.display().to_string()]);
    let first4 = dir.join("first4.log");
    std::fs::write(&first4, lines[..4].join("\n")).unwrap();
    let (want, _) = read(&[first4.display().to_string()]);
    assert_eq!(got, want);
    assert_eq!(reports[0].events, 4);
    assert_eq!(
        skipped(&reports[0]),
        vec![
            ("message not an audit event".to_string(), 2),
            ("no event".to_string(), 1),
            ("no user".to_string(), 1),
            ("not an audit event".to_string(), 1),
            ("wrong field type".to_string(), 1),
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--user` skips lines that cannot mention the user without decoding them; names inside an
/// embedded JSON string must still be found, escapes included.
#[test]
fn user_prefilter_finds_names_in_embedded_events() {
    let dir = common::scratch_dir("prefilter");
    let event = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/pods","verb":"list","user":{"username":"a\u003cb"},"objectRef":{"resource":"pods","namespace":"a","apiVersion":"v1"}}"#;
    let line = format!(
        "{{\"category\":\"kube-audit\",\"properties\":{{\"log\":{}}}}}\n",
        serde_json::to_string(event).unwrap()
    );
    let path = dir.join("escaped.log");
    std::fs::write(&path, line).unwrap();
    let mut options = ReadOptions {
        threads: 1,
        ..ReadOptions::default()
    };
    options.filter.users = vec!["a<b".to_string()];
    let (got, reports) = read_with(&[path.display().to_string()], &options);
    assert_eq!(reports[0].prefiltered, 0);
    assert_eq!(got.keys().collect::<Vec<_>>(), vec!["a<b"]);
    // And on the real files: the same requests for one user, filtered or not.
    options.filter.users = vec!["alice@example.com".to_string()];
    let (native, _) = read_with(&[cloud("native-equivalent.log")], &options);
    for file in ["eks-subscription.json", "aks.jsonl", "gke.jsonl"] {
        let (got, _) = read_with(&[cloud(file)], &options);
        assert_eq!(got, native, "{file}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The CLI writes the same RBAC for a cloud export as for the native log.
#[test]
fn cli_output_matches_native() {
    let run = |file: &str| {
        let out = Command::new(BIN)
            .args(["--all-subjects", "-o", "json", "-q", &cloud(file)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let native = run("native-equivalent.log");
    assert!(native.contains("deployer-lock"));
    for file in [
        "gke-array.json",
        "eks-filter-log-events.json",
        "aks-records.json",
    ] {
        assert_eq!(run(file), native, "{file}");
    }
}

/// The real GKE and AKS samples give the requests their native events would give (written
/// out by hand here from the entries).
#[test]
#[cfg_attr(shared_missing, ignore = "needs ../shared beside the checkout")]
fn corpus_cloud_samples_give_the_native_requests() {
    let dir = common::corpus_dir();
    // (file, events, per subject: its distinct requests as `Request` displays with evidence)
    type Expected<'a> = &'a [(&'a str, &'a [&'a str])];
    let cases: &[(&str, u64, Expected)] = &[
        (
            "khi-gke-k8s-audit/gke-k8s-audit.jsonl",
            3,
            &[
                (
                    "system:node:gke-sample-cluster-default-abcdefgh-abcd",
                    &["patch pods/status nginx-deployment-surge-8655b4b8c5-xf5f4 -n 1-2-deployment-update | completed 2 denied 0 first Some(1704070800000000) last Some(1704070800000000)"],
                ),
                (
                    "system:serviceaccount:kube-system:replicaset-controller",
                    &["create pods -n 1-2-deployment-update | completed 1 denied 0 first Some(1704070800000000) last Some(1704070800000000)"],
                ),
            ],
        ),
        (
            "elastic-integrations-kubernetes-audit_logs/test-audit.log",
            5,
            &[
                (
                    "aksService",
                    &["update leases.coordination.k8s.io elastic-agent-cluster-test -n kube-system | completed 1 denied 0 first Some(1759213415091134) last Some(1759213415091134)"],
                ),
                (
                    "system:gke-master-healthcheck",
                    &["get /readyz | completed 1 denied 0 first Some(1752395919127266) last Some(1752395919127266)"],
                ),
                (
                    "system:serviceaccount:kube-system:elastic-agent",
                    &["get leases.coordination.k8s.io elastic-agent-cluster-test -n kube-system | completed 2 denied 0 first Some(1752660776525137) last Some(1752660776525137)"],
                ),
                (
                    "system:serviceaccounts:default:default",
                    &["get pods my-pod -n default | completed 1 denied 0 first Some(1741069338819232) last Some(1741069338819232)"],
                ),
            ],
        ),
        (
            "elastic-integrations-kubernetes-audit_logs/test-kube-audit.log",
            1,
            &[(
                "aksService",
                &["update leases.coordination.k8s.io kubelet-serving-csr-approver -n kube-system | completed 1 denied 0 first Some(1759853959643609) last Some(1759853959643609)"],
            )],
        ),
    ];
    for (rel, events, want) in cases {
        let (got, reports) = read(&[dir.join(rel).display().to_string()]);
        let want: Summary = want
            .iter()
            .map(|(s, rows)| (s.to_string(), rows.iter().map(|r| r.to_string()).collect()))
            .collect();
        assert_eq!(got, want, "{rel}");
        assert_eq!(reports[0].events, *events, "{rel}");
        assert_eq!(reports[0].skipped_total(), 0, "{rel}: {:?}", reports[0]);
    }
}
