//! Name folding while reading (`ReadOptions::fold_names_after`): the generated RBAC is the same as
//! from every name, for any number of threads and block size; the aggregate keeps at most K
//! names and one "many names" entry per operation; `generate` folds only when its output
//! cannot show the difference (`-q`, no `--evidence`, `--strict`, `--existing`,
//! `--expand-multi-name=false` or `--out-dir`).

use audit2role::aggregate::{Aggregate, FOLDED_NAME};
use audit2role::generate::policy::{generate_from, Naming, Observations, Policy};
use audit2role::generate::review::{comments, review_from, CommentOptions};
use audit2role::rbac::bootstrap::bootstrap_rbac;
use audit2role::rbac::Authorizer;
use audit2role::read::expand_sources;
use audit2role::render::{to_yaml, RuleComments};
use audit2role::request::{ResourceRef, TargetRef};
use audit2role::{read_inputs, ReadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fold");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One audit event line.
#[allow(clippy::too_many_arguments)]
fn event(
    i: usize,
    user: &str,
    groups: &str,
    verb: &str,
    (group, resource, sub, ns, name): (&str, &str, &str, &str, &str),
    code: u16,
    stage: &str,
    impersonated: Option<&str>,
) -> String {
    let mut uri = if group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{group}/v1")
    };
    if !ns.is_empty() {
        uri.push_str(&format!("/namespaces/{ns}"));
    }
    uri.push_str(&format!("/{resource}"));
    if !name.is_empty() {
        uri.push_str(&format!("/{name}"));
    }
    if !sub.is_empty() {
        uri.push_str(&format!("/{sub}"));
    }
    let imp = impersonated
        .map(|u| format!(",\"impersonatedUser\":{{\"username\":\"{u}\",\"groups\":[\"system:authenticated\"]}}"))
        .unwrap_or_default();
    format!(
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"a-{i}\",\"stage\":\"{stage}\",\"requestURI\":\"{uri}\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"{user}\",\"groups\":[{groups}]}}{imp},\"objectRef\":{{\"resource\":\"{resource}\",\"namespace\":\"{ns}\",\"name\":\"{name}\",\"apiGroup\":\"{group}\",\"apiVersion\":\"v1\",\"subresource\":\"{sub}\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":{code}}},\"requestReceivedTimestamp\":\"2026-11-02T09:{m:02}:{s:02}.{us:06}Z\",\"stageTimestamp\":\"2026-11-02T09:{m:02}:{s:02}.{us:06}Z\"}}\n",
        m = (i / 60) % 60,
        s = i % 60,
        us = i * 7919 % 1_000_000,
    )
}

/// Several subjects and group sets, namespaced and cluster-scoped resources, subresources,
/// verbs with and without names, denials, stages, impersonation; some operations on many
/// names (in one namespace or several), some on a few, one on a name spelled like the
/// folded entry.
fn log(events: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let users = [
        ("alice", "\"devs\",\"system:authenticated\""),
        ("alice", "\"system:authenticated\""),
        ("bob", "\"system:authenticated\""),
        (
            "system:serviceaccount:ops:robot",
            "\"system:serviceaccounts\",\"system:serviceaccounts:ops\",\"system:authenticated\"",
        ),
    ];
    let mut out = String::new();
    for i in 0..events {
        let (user, groups) = users[rng.next(users.len())];
        let n = rng.next(400);
        let many = format!("cm-{n:04}");
        let few = format!("p-{}", n % 3);
        let ns = ["ns0", "ns1", "ns2", "ns3"][rng.next(4)];
        let (verb, target) = match rng.next(14) {
            0..=3 => ("get", ("", "configmaps", "", ns, many.as_str())),
            4 => ("patch", ("", "configmaps", "", ns, many.as_str())),
            5 => ("list", ("", "configmaps", "", ns, "")),
            6 => ("watch", ("", "pods", "", ns, "")),
            7 => ("get", ("", "pods", "log", ns, many.as_str())),
            8 => ("create", ("", "pods", "exec", "ns1", few.as_str())),
            9 => ("get", ("", "secrets", "", "ns0", many.as_str())),
            10 => ("delete", ("apps", "deployments", "", ns, few.as_str())),
            11 => ("get", ("", "nodes", "", "", many.as_str())),
            12 => ("update", ("", "nodes", "status", "", "node-only")),
            _ => ("get", ("", "configmaps", "", "ns2", FOLDED_NAME)),
        };
        let code = if rng.next(13) == 0 { 403 } else { 200 };
        let stage = ["ResponseComplete", "ResponseComplete", "RequestReceived"][rng.next(3)];
        out.push_str(&event(i, user, groups, verb, target, code, stage, None));
        if rng.next(10) == 0 {
            // An administrator impersonating many users.
            let target_user = format!("user-{}", rng.next(300));
            out.push_str(&event(
                i,
                "admin",
                "\"system:masters\",\"system:authenticated\"",
                "get",
                ("", "pods", "", ns, many.as_str()),
                200,
                "ResponseComplete",
                Some(&target_user),
            ));
        }
    }
    out
}

fn write_log(name: &str, text: &str) -> String {
    let path = dir().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn read(path: &str, threads: usize, block_size: usize, fold: Option<u32>) -> Aggregate {
    let sources = expand_sources(&[path.to_string()]).unwrap();
    let mut options = ReadOptions {
        threads,
        block_size,
        ..ReadOptions::default()
    };
    options.fold_names_after = fold;
    read_inputs(&sources, &options).unwrap().0
}

/// The generated YAML (with risk comments) of every subject under `policy`.
fn generated(aggregate: &Aggregate, policy: &Policy) -> BTreeMap<String, String> {
    let existing = Authorizer::new(bootstrap_rbac());
    let naming = Naming {
        name: "n".into(),
        ..Naming::default()
    };
    aggregate
        .subject_names()
        .into_iter()
        .map(|s| {
            let observed = Observations::of_aggregate(s, &aggregate.subjects[s]);
            let g = generate_from(s, &observed, &existing, policy, &naming);
            let reports = review_from(&g.rbac, &observed);
            let yaml = to_yaml(&g.rbac, &comments(&reports, &CommentOptions::default()));
            assert_eq!(
                to_yaml(&g.rbac, &RuleComments::new()).is_empty(),
                yaml.is_empty()
            );
            (s.to_string(), yaml)
        })
        .collect()
}

/// Per subject: the distinct requests reading every name would keep with folding after K:
/// requests without a name as they are, and per operation at most K names plus one
/// "many names" entry.
fn expected_distinct(unfolded: &Aggregate, k: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (subject, sub) in &unfolded.subjects {
        let mut names: BTreeMap<[String; 5], usize> = BTreeMap::new();
        let mut other = 0;
        for r in sub.requests.keys() {
            match r.target {
                TargetRef::Resource(ResourceRef {
                    api_group,
                    resource,
                    subresource,
                    namespace,
                    name,
                }) if !name.is_empty() && r.verb != "impersonate" => {
                    // Impersonation is granted by name: its names never fold.
                    let op = [r.verb, api_group, resource, subresource, namespace];
                    *names.entry(op.map(str::to_string)).or_default() += 1;
                }
                _ => other += 1,
            }
        }
        let named: usize = names.values().map(|&n| n.min(k) + usize::from(n > k)).sum();
        out.insert(subject.clone(), other + named);
    }
    out
}

#[test]
fn folded_aggregates_generate_what_every_name_generates() {
    let path = write_log("mixed.log", &log(3000, 0x9e37_79b9_7f4a_7c15));
    let unfolded = read(&path, 1, 0, None);
    let policies = [
        Policy::default(),
        Policy {
            expand_multi_namespace: false,
            ..Policy::default()
        },
        Policy {
            expand_verbs: false,
            ..Policy::default()
        },
    ];
    let want: Vec<BTreeMap<String, String>> =
        policies.iter().map(|p| generated(&unfolded, p)).collect();
    // Every subject generated something; alice's configmaps collapse to any name.
    assert!(want[0].values().all(|y| !y.is_empty()), "{:?}", want[0]);
    assert!(want[0]["alice"].contains("- configmaps\n"));
    for k in [2u32, 64] {
        let expected = expected_distinct(&unfolded, k as usize);
        for (threads, block) in [(1, 0), (2, 4096), (8, 700)] {
            let folded = read(&path, threads, block, Some(k));
            let distinct: BTreeMap<String, usize> = folded
                .subjects
                .iter()
                .map(|(s, a)| (s.clone(), a.distinct()))
                .collect();
            assert_eq!(
                distinct, expected,
                "K {k}, threads {threads}, block {block}"
            );
            assert!(
                folded.subjects["alice"].requests.folded() > 0,
                "K {k}, threads {threads}, block {block}"
            );
            for (policy, want) in policies.iter().zip(&want) {
                assert_eq!(
                    &generated(&folded, policy),
                    want,
                    "K {k}, threads {threads}, block {block}, {policy:?}"
                );
            }
        }
    }
}

#[test]
fn thousands_of_names_of_one_operation_stay_k_plus_one() {
    // One subject, 500 names of one operation in each of 10 namespaces.
    let mut text = String::new();
    for i in 0..5000 {
        let ns = format!("ns{}", i % 10);
        let name = format!("cm-{i:07}");
        let target = ("", "configmaps", "", ns.as_str(), name.as_str());
        let groups = "\"system:authenticated\"";
        text.push_str(&event(
            i,
            "mallory",
            groups,
            "get",
            target,
            200,
            "ResponseComplete",
            None,
        ));
    }
    let path = write_log("mallory.log", &text);
    for threads in [1, 2, 8] {
        for block in [0, 2000, 50_000] {
            let a = read(&path, threads, block, Some(64));
            let sub = &a.subjects["mallory"];
            assert_eq!(sub.distinct(), 10 * 65, "threads {threads} block {block}");
            assert_eq!(sub.requests.folded(), 10);
            let total: u64 = sub.requests.iter().map(|(_, e)| e.total().count()).sum();
            assert_eq!(total, 5000);
        }
    }
    assert_eq!(read(&path, 1, 0, None).subjects["mallory"].distinct(), 5000);
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], fold: bool) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_audit2role"));
    cmd.args(args);
    if !fold {
        cmd.env("AUDIT2ROLE_NO_FOLD", "1");
    } else {
        cmd.env_remove("AUDIT2ROLE_NO_FOLD");
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_same(args: &[&str]) -> Run {
    let want = run(&[args, &["--threads", "1"]].concat(), false);
    assert_eq!(want.code, Some(0), "{args:?}: {}", want.stderr);
    for threads in ["1", "2", "8"] {
        let got = run(&[args, &["--threads", threads]].concat(), true);
        assert_eq!(got.code, want.code, "{args:?} threads {threads}");
        assert_eq!(got.stdout, want.stdout, "{args:?} threads {threads}");
        assert_eq!(got.stderr, want.stderr, "{args:?} threads {threads}");
    }
    want
}

#[test]
fn generate_output_is_the_same_with_and_without_folding() {
    let path = write_log("cli.log", &log(2500, 0x2545_f491_4f6c_dd1d));
    // Folded (quiet, expanding): the same YAML and JSON.
    for args in [
        vec!["-q", "--all-subjects"],
        vec!["-q", "--user", "alice"],
        vec!["-q", "--user", "admin"],
        vec!["-q", "--all-subjects", "-o", "json"],
        vec!["-q", "--all-subjects", "--expand-multi-namespace=false"],
        vec!["-q", "--all-subjects", "--expand-verbs=false"],
        vec!["-q", "--all-subjects", "--no-bootstrap-roles"],
    ] {
        let args: Vec<&str> = args.into_iter().chain([path.as_str()]).collect();
        let out = assert_same(&args);
        assert!(out.stdout.contains("rules"), "{args:?}");
    }
    // Not folded: the outputs that show distinct counts, names or every name.
    let existing = dir().join("existing.yaml");
    std::fs::write(
        &existing,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: some\n  namespace: ns0\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n  resourceNames: [cm-0001, cm-0002]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: some\n  namespace: ns0\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: some\nsubjects:\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: devs\n",
    )
    .unwrap();
    let existing = existing.to_string_lossy().into_owned();
    for args in [
        vec!["--all-subjects"],
        vec!["-q", "--all-subjects", "--evidence"],
        vec!["-q", "--all-subjects", "--evidence", "-o", "json"],
        vec!["-q", "--all-subjects", "--strict"],
        vec!["-q", "--all-subjects", "--expand-multi-name=false"],
        vec!["-q", "--all-subjects", "--existing", existing.as_str()],
    ] {
        let args: Vec<&str> = args.into_iter().chain([path.as_str()]).collect();
        assert_same(&args);
    }
    // The evidence and the summary count every distinct name (here more than K = 64).
    let evidence = run(&["-q", "--user", "alice", "--evidence", &path], true);
    assert!(evidence.stdout.contains("cm-0000"), "{}", evidence.stdout);
    let summary = run(&["--user", "alice", &path], true);
    let distinct: usize = summary
        .stderr
        .split(" distinct")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(distinct > 300, "{}", summary.stderr);
    // --out-dir: the same files, summary.json included.
    let mut trees = Vec::new();
    for fold in [false, true] {
        let out = dir().join(format!("out-{fold}"));
        let _ = std::fs::remove_dir_all(&out);
        let out_arg = out.to_string_lossy().into_owned();
        let r = run(
            &["-q", "--all-subjects", "--out-dir", &out_arg, &path],
            fold,
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let mut files: Vec<(String, String)> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        trees.push(files);
    }
    assert!(trees[0].iter().any(|(n, _)| n == "summary.json"));
    assert_eq!(trees[0], trees[1]);
}
