//! Shared test helpers: scratch files that are removed when a test ends, and generating RBAC
//! for every subject of a log and proving it with the project's authorizer (every observed
//! request allowed; in strict mode nothing more).

#![allow(dead_code)]

use audit2role::aggregate::{Aggregate, SubjectAggregate};
use audit2role::generate::policy::{generate_from, Naming, Observations, Policy};
use audit2role::rbac::bootstrap::bootstrap_rbac;
use audit2role::rbac::compact::{atoms_of, Atom};
use audit2role::rbac::{Authorizer, RbacSet};
use audit2role::read::expand_sources;
use audit2role::request::TargetRef;
use audit2role::{read_inputs, ReadOptions};
use std::path::{Path, PathBuf};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_audit2role");

thread_local! {
    static SCRATCH: tempfile::TempDir = tempfile::Builder::new()
        .prefix("audit2role-test-")
        .tempdir()
        .expect("a scratch directory in the temp dir");
}

/// The path `name` in this test's scratch directory. libtest runs each test on a thread of
/// its own, so the directory is the test's alone and is removed when the test ends, passed or
/// failed. Call it from the test's own thread.
pub fn scratch(name: &str) -> PathBuf {
    SCRATCH.with(|dir| dir.path().join(name))
}

/// A new directory `name` in this test's scratch directory (emptied if it was there).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A file of testdata/.
pub fn testdata(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
        .display()
        .to_string()
}

/// Runs the binary; YAML it prints is kept for schema validation (see `record_yaml`).
pub fn run(args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new(BIN)
        .args(args)
        .output()
        .expect("binary runs");
    record_output(&args.join(" "), &output);
    output
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `../shared` beside the checkout. Tests that need it are marked
/// `#[cfg_attr(shared_missing, ignore = ...)]` (see build.rs): when it is missing they are
/// reported as ignored, and under CI they run and fail here.
pub fn shared_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    assert!(
        dir.join("corpus").is_dir() && dir.join("tools").is_dir(),
        "{} is missing: the corpus and the log generator must be beside the checkout",
        dir.display()
    );
    dir
}

/// `../shared/corpus` (see [`shared_dir`]).
pub fn corpus_dir() -> PathBuf {
    shared_dir().join("corpus")
}

pub fn aggregate_of(paths: &[String]) -> Aggregate {
    let sources = expand_sources(paths).expect("inputs exist");
    read_inputs(&sources, &ReadOptions::default())
        .expect("inputs read")
        .0
}

/// Generates for `subject` under `policy` (bootstrap roles assumed).
pub fn generate_for(aggregate: &Aggregate, subject: &str, policy: &Policy) -> RbacSet {
    let observed = Observations::of_aggregate(subject, &aggregate.subjects[subject]);
    let existing = Authorizer::new(bootstrap_rbac());
    let naming = Naming {
        name: format!("test:{subject}"),
        ..Naming::default()
    };
    generate_from(subject, &observed, &existing, policy, &naming).rbac
}

/// Every request `subject` was observed making, as every identity it was made as, must be
/// allowed by `existing` + `generated`. Returns the failures.
pub fn uncovered(
    subject: &str,
    observed: &SubjectAggregate,
    existing: &RbacSet,
    generated: &RbacSet,
) -> Vec<String> {
    let mut set = existing.clone();
    set.extend(generated.clone());
    let authorizer = Authorizer::new(set);
    let identities = observed.user_infos(subject);
    let mut out = Vec::new();
    for (request, entries) in observed.requests.iter() {
        for (group_set, _) in entries {
            let u = &identities[group_set as usize];
            if !authorizer.allows(u, request) {
                out.push(format!("{request} as {u:?}"));
            }
        }
    }
    out.sort();
    out
}

/// In strict mode every granted atom must be an observed request (or the `create` check the
/// server makes for a WebSocket exec/attach/portforward `get`). Returns the extra atoms.
pub fn beyond_observed(observed: &SubjectAggregate, generated: &RbacSet) -> Vec<String> {
    let mut scoped: Vec<(String, Atom)> = Vec::new();
    for r in &generated.roles {
        for rule in &r.rules {
            scoped.extend(
                atoms_of(rule)
                    .into_iter()
                    .map(|a| (r.metadata.namespace.clone(), a)),
            );
        }
    }
    for r in &generated.cluster_roles {
        for rule in &r.rules {
            scoped.extend(atoms_of(rule).into_iter().map(|a| (String::new(), a)));
        }
    }
    let mut out = Vec::new();
    for (scope, atom) in scoped {
        let justified = observed.requests.keys().any(|o| match (o.target, &atom) {
            (TargetRef::NonResource { path }, Atom::Url { path: p, verb }) => {
                path == p && o.verb == verb
            }
            (
                TargetRef::Resource(r),
                Atom::Resource {
                    api_group,
                    resource,
                    name,
                    verb,
                },
            ) => {
                let verb_ok = o.verb == verb
                    || (verb == "create"
                        && o.verb == "get"
                        && r.resource == "pods"
                        && matches!(r.subresource, "exec" | "attach" | "portforward"));
                verb_ok
                    && r.api_group == api_group
                    && r.combined_resource() == *resource
                    && r.namespace == scope
                    && r.name == name.as_deref().unwrap_or_default()
            }
            _ => false,
        });
        if !justified {
            out.push(format!("{scope:?} {atom:?}"));
        }
    }
    out
}

/// Checks both properties for every subject of the inputs; returns (subjects, failures).
pub fn check_all_subjects(paths: &[String]) -> (usize, Vec<String>) {
    let aggregate = aggregate_of(paths);
    let mut failures = Vec::new();
    let names = aggregate.subject_names();
    let mut all_yaml = String::new();
    for subject in &names {
        let observed = &aggregate.subjects[*subject];
        let rbac = generate_for(&aggregate, subject, &Policy::default());
        let yaml = audit2role::render::to_yaml(&rbac, &Default::default());
        if !yaml.is_empty() {
            if !all_yaml.is_empty() {
                all_yaml.push_str("---\n");
            }
            all_yaml.push_str(&yaml);
        }
        for f in uncovered(subject, observed, &bootstrap_rbac(), &rbac) {
            failures.push(format!("{paths:?} {subject} (default): not allowed: {f}"));
        }
        let rbac = generate_for(&aggregate, subject, &Policy::strict());
        for f in uncovered(subject, observed, &bootstrap_rbac(), &rbac) {
            failures.push(format!("{paths:?} {subject} (strict): not allowed: {f}"));
        }
        for f in beyond_observed(observed, &rbac) {
            failures.push(format!(
                "{paths:?} {subject} (strict): granted beyond observed: {f}"
            ));
        }
    }
    record_yaml(&format!("{paths:?}"), &all_yaml);
    (names.len(), failures)
}

/// When AUDIT2ROLE_YAML_OUT names a directory (CI sets it), keeps a copy of YAML the tests
/// generated there, so that CI can validate it against the Kubernetes OpenAPI schemas.
pub fn record_yaml(label: &str, yaml: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let Some(dir) = std::env::var_os("AUDIT2ROLE_YAML_OUT") else {
        return;
    };
    if yaml.trim().is_empty() {
        return;
    }
    let safe: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(60)
        .collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = Path::new(&dir).join(format!("{}-{n}-{safe}.yaml", std::process::id()));
    std::fs::write(&path, yaml).expect("AUDIT2ROLE_YAML_OUT is writable");
}

/// Records the stdout of a run when it is YAML.
pub fn record_output(label: &str, output: &std::process::Output) {
    if output.stdout.starts_with(b"apiVersion:") {
        record_yaml(label, &String::from_utf8_lossy(&output.stdout));
    }
}

/// Every subcommand, sorted: each has its man page (`man --dir`, the release archives).
pub const COMMANDS: [&str; 11] = [
    "aggregate",
    "check",
    "completions",
    "diff",
    "generate",
    "lookup",
    "man",
    "serve",
    "stats",
    "subjects",
    "who-can",
];
