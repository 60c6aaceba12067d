//! Answers that must be exact for the authorizer (issue: trustworthy answers): each test
//! runs the binary on a small log written here and asserts what a cluster would see.

mod common;

use common::{run, stdout};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One ResponseComplete event of `user` as a JSON line.
fn event(user: &str, verb: &str, uri: &str, object_ref: &str, code: u16) -> String {
    let object_ref = if object_ref.is_empty() {
        String::new()
    } else {
        format!(r#""objectRef":{object_ref},"#)
    };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},{object_ref}"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"2026-11-01T10:00:00.000000Z","stageTimestamp":"2026-11-01T10:00:00.100000Z"}}"#
    )
}

fn write_log(dir: &Path, lines: &[String]) -> String {
    let path = dir.join("audit.log");
    std::fs::write(&path, lines.join("\n") + "\n").expect("log written");
    path.display().to_string()
}

/// The YAML documents of `text` as (kind, name, the whole document).
fn documents(text: &str) -> Vec<(String, String, serde_norway::Value)> {
    text.split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            let v: serde_norway::Value = serde_norway::from_str(d).expect("valid YAML");
            let kind = v["kind"].as_str().unwrap_or_default().to_string();
            let name = v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (kind, name, v)
        })
        .collect()
}

#[test]
fn subjects_that_sanitize_alike_get_their_own_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let subjects = [
        "Alice",
        "alice",
        "a.b",
        "a_b",
        "system:serviceaccount:ns:my.sa",
        "system:serviceaccount:ns:my-sa",
    ];
    let lines: Vec<String> = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| {
            event(
                s,
                "get",
                &format!("/api/v1/namespaces/dev/pods/p{i}"),
                &format!(
                    r#"{{"resource":"pods","namespace":"dev","name":"p{i}","apiVersion":"v1"}}"#
                ),
                200,
            )
        })
        .collect();
    let log = write_log(dir.path(), &lines);
    for extra in [&[][..], &["--generate-name", "team:{subject}"][..]] {
        let mut args = vec!["-q", "--all-subjects", &log];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let docs = documents(&stdout(&out));
        let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (kind, name, _) in &docs {
            assert!(
                names.entry(kind.clone()).or_default().insert(name.clone()),
                "{kind} {name} is written twice"
            );
        }
        assert_eq!(names["Role"].len(), subjects.len(), "{names:?}");
        assert_eq!(names["RoleBinding"].len(), subjects.len(), "{names:?}");
        // Each binding names one subject and the role that holds that subject's pod.
        for (kind, _, doc) in &docs {
            if kind != "RoleBinding" {
                continue;
            }
            let role = doc["roleRef"]["name"].as_str().expect("roleRef");
            let subject = &doc["subjects"][0];
            let user = match subject["kind"].as_str() {
                Some("ServiceAccount") => format!(
                    "system:serviceaccount:{}:{}",
                    subject["namespace"].as_str().unwrap_or_default(),
                    subject["name"].as_str().unwrap_or_default()
                ),
                _ => subject["name"].as_str().unwrap_or_default().to_string(),
            };
            let i = subjects
                .iter()
                .position(|s| *s == user)
                .expect("known subject");
            let role_doc = docs
                .iter()
                .find(|(k, n, _)| k == "Role" && n == role)
                .expect("bound role exists");
            let names = &role_doc.2["rules"][0]["resourceNames"];
            assert_eq!(names[0].as_str(), Some(format!("p{i}").as_str()), "{user}");
        }
    }
}
