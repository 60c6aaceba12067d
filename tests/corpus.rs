//! Real audit logs from ../shared/corpus (read in place; their licenses are not ours): for
//! every subject of every native-format or cloud-export log, the generated RBAC allows all
//! its requests, and in strict mode nothing beyond them. Skips, saying so, when the corpus
//! is absent.

mod common;

use audit2role::generate::policy::Policy;
use common::{check_all_subjects, corpus_dir};

/// Native-format logs (JSON lines, EventLists, Panther-stored EKS events).
const NATIVE: &[&str] = &[
    "audit2rbac-demo/demo.log",
    "audit2rbac-demo/demo.v1beta1.log",
    "audit2rbac-demo/demo-original.v1beta1.log",
    "falco-trace-files-k8s-audit",
    "kubernetes-website-audit-doc-2017/audit-v1alpha1-log-backend.jsonl",
    "kubernetes-website-audit-doc-2017/eventlist-v1alpha1-webhook.json",
    "khi-gke-k8s-audit/oss-test-log.jsonl",
    "rbac-tool-auditgen/testdata-01.json",
    "rbac-tool-auditgen/testdata-02.json",
    "panther-analysis-eks-rule-tests/aws_eks_rules-test-logs.jsonl",
];

/// Cloud exports (GKE Cloud Logging entries, AKS diagnostic records), alone or mixed with
/// native events; tests/cloud.rs checks their requests one by one.
const CLOUD: &[&str] = &[
    "khi-gke-k8s-audit/gke-k8s-audit.jsonl",
    "elastic-integrations-kubernetes-audit_logs/test-audit.log",
    "elastic-integrations-kubernetes-audit_logs/test-kube-audit.log",
];

#[test]
#[cfg_attr(shared_missing, ignore = "needs ../shared beside the checkout")]
fn every_corpus_subject_is_covered_and_strict_is_exact() {
    let dir = corpus_dir();
    let mut total_subjects = 0;
    let mut failures = Vec::new();
    println!("| file | subjects | distinct requests | rules (default) | rules (strict) |\n|---|---|---|---|---|");
    for rel in NATIVE.iter().chain(CLOUD) {
        let agg = common::aggregate_of(&[dir.join(rel).display().to_string()]);
        let (mut distinct, mut rules, mut strict_rules) = (0, 0, 0);
        for subject in agg.subject_names() {
            distinct += agg.subjects[subject].distinct();
            let count = |p: &Policy| common::generate_for(&agg, subject, p).rule_count();
            rules += count(&Policy::default());
            strict_rules += count(&Policy::strict());
        }
        println!(
            "| {rel} | {} | {distinct} | {rules} | {strict_rules} |",
            agg.subjects.len()
        );
        let path = dir.join(rel);
        assert!(path.exists(), "corpus file missing: {}", path.display());
        let (subjects, f) = check_all_subjects(&[path.display().to_string()]);
        assert!(subjects > 0, "no subjects decoded from {rel}");
        total_subjects += subjects;
        failures.extend(f);
    }
    eprintln!("corpus: checked {total_subjects} subjects");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[cfg_attr(shared_missing, ignore = "needs ../shared beside the checkout")]
fn demo_log_subjects_and_requests() {
    let dir = corpus_dir();
    let agg = common::aggregate_of(&[dir
        .join("audit2rbac-demo/demo-original.v1beta1.log")
        .display()
        .to_string()]);
    let names = agg.subject_names();
    // The impersonated users are subjects; the impersonator (system:admin) is one too,
    // through its impersonate checks.
    for want in [
        "alice",
        "bob",
        "system:serviceaccount:ns1:sa1",
        "system:admin",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let admin = &agg.subjects["system:admin"];
    let shown: Vec<String> = admin.requests.keys().map(|r| r.to_string()).collect();
    assert!(
        shown.iter().any(|s| s == "impersonate users bob (cluster)"),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s == "impersonate serviceaccounts sa1 -n ns1"),
        "{shown:?}"
    );
}
