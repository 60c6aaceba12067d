//! Deployment: the manifests of docs/scale-out.md are valid for the API server
//! (`kubernetes-validate --strict`), and the Indexed Job's commands, run here as each pod
//! would run them (`JOB_COMPLETION_INDEX` set, the fetch init container, then the shard),
//! followed by the merge Job's command, work on an empty folder standing for a fresh volume
//! and give the same files as one run over the whole log.

mod common;

use common::{stderr, testdata, BIN};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scale_out_doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scale-out.md"))
        .expect("docs/scale-out.md reads")
}

/// The ```yaml blocks of a Markdown text.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Every manifest of the doc, parsed.
fn manifests() -> Vec<serde_json::Value> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for block in yaml_blocks(&scale_out_doc()) {
        for doc in serde_norway::Deserializer::from_str(&block) {
            out.push(serde_json::Value::deserialize(doc).expect("manifest parses"));
        }
    }
    out
}

fn tmpdir(name: &str) -> PathBuf {
    common::scratch_dir(name)
}

fn validate(path: &Path) -> std::process::Output {
    Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(path)
        .output()
        .expect("kubernetes-validate runs (pip install kubernetes-validate==1.37.0)")
}

#[test]
#[cfg_attr(
    kubernetes_validate_missing,
    ignore = "needs kubernetes-validate (pip install kubernetes-validate==1.37.0)"
)]
fn scale_out_manifests_are_valid_for_the_api_server() {
    let dir = tmpdir("validate");
    let blocks = yaml_blocks(&scale_out_doc());
    assert!(!blocks.is_empty());
    let kinds: Vec<String> = manifests()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["kind"].as_str().unwrap(),
                m["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "PersistentVolumeClaim/audit2role-work",
            "Job/audit2role-shards",
            "Job/audit2role-merge"
        ]
    );
    for (i, block) in blocks.iter().enumerate() {
        let path = dir.join(format!("block-{i}.yaml"));
        std::fs::write(&path, block).unwrap();
        let o = validate(&path);
        assert!(
            o.status.success(),
            "block {i}: {}{}",
            common::stdout(&o),
            stderr(&o)
        );
    }
    // The validator is strict: a misspelt field fails (so the check above can fail).
    let typo = blocks[0].replacen("restartPolicy:", "restartPolicyy:", 1);
    assert_ne!(typo, blocks[0]);
    let path = dir.join("typo.yaml");
    std::fs::write(&path, typo).unwrap();
    assert!(!validate(&path).status.success());
}

/// The shell script of container `name` (init or not) of the Job `job`.
fn script(manifests: &[serde_json::Value], job: &str, name: &str) -> String {
    let m = manifests
        .iter()
        .find(|m| m["metadata"]["name"] == job)
        .unwrap_or_else(|| panic!("no Job {job}"));
    let spec = &m["spec"]["template"]["spec"];
    let containers = spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["containers"].as_array().unwrap());
    let c = containers
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name} in {job}"));
    assert_eq!(c["command"], serde_json::json!(["/bin/sh", "-c"]));
    c["args"][0].as_str().unwrap().to_string()
}

/// Runs `script` with `sh -c` as the pod would, the volume paths mapped into `root`, the
/// binary as `audit2role` and a stand-in `rclone` (which copies from `bucket`) on PATH.
fn sh(script: &str, root: &Path, index: Option<usize>) -> std::process::Output {
    let local = script
        .replace("/work/", &format!("{}/", root.join("work").display()))
        .replace("/logs", &root.join("logs").display().to_string());
    run_sh(&local, root, index)
}

/// Runs `script` with `sh -c`, as [`sh`] does, without mapping paths.
fn run_sh(script: &str, root: &Path, index: Option<usize>) -> std::process::Output {
    let local = script;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(local);
    let path = format!(
        "{}:{}",
        root.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path);
    if let Some(i) = index {
        // As the Job controller sets it: the index as a decimal string.
        cmd.env("JOB_COMPLETION_INDEX", i.to_string());
    }
    cmd.output().expect("sh runs")
}

#[test]
fn the_indexed_job_and_the_merge_run_on_a_fresh_volume() {
    let root = tmpdir("job");
    let manifests = manifests();
    let fetch = script(&manifests, "audit2role-shards", "fetch");
    let shard = script(&manifests, "audit2role-shards", "aggregate");
    let merge = script(&manifests, "audit2role-merge", "merge");

    // The bucket: the shipped log split into three "days", one line in three each.
    let text = std::fs::read_to_string(testdata("audit.log")).unwrap();
    let bucket = root.join("bucket/audit-logs/cluster-a");
    for day in 1..=3 {
        let lines: Vec<&str> = text.lines().skip(day - 1).step_by(3).collect();
        let dir = bucket.join(format!("2026-11-{day:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("audit.log"), lines.join("\n") + "\n").unwrap();
    }
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("audit2role")).unwrap();
    // rclone copy s3:PATH DEST, from the local bucket.
    let rclone = bin.join("rclone");
    std::fs::write(
        &rclone,
        format!(
            "#!/bin/sh\nset -eu\n[ \"$1\" = copy ]\nsrc=\"{}/${{2#s3:}}\"\nmkdir -p \"$3\"\ncp -R \"$src\"/. \"$3\"/\n",
            root.join("bucket").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rclone, std::fs::Permissions::from_mode(0o755)).unwrap();

    // The fresh volume: an empty folder, no parts/ in it.
    std::fs::create_dir_all(root.join("work")).unwrap();
    for index in 0..3 {
        // Each pod has its own emptyDir for the logs.
        let _ = std::fs::remove_dir_all(root.join("logs"));
        let o = sh(&fetch, &root, Some(index));
        assert!(o.status.success(), "fetch {index}: {}", stderr(&o));
        let o = sh(&shard, &root, Some(index));
        assert!(o.status.success(), "shard {index}: {}", stderr(&o));
    }
    let mut parts: Vec<String> = std::fs::read_dir(root.join("work/parts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    parts.sort();
    assert_eq!(
        parts,
        [
            "2026-11-01.agg.gz",
            "2026-11-02.agg.gz",
            "2026-11-03.agg.gz"
        ]
    );
    let o = sh(&merge, &root, None);
    assert!(o.status.success(), "merge: {}", stderr(&o));

    // The same as one run over the whole log with the merge's own command line.
    let single = root.join("single");
    let whole = merge
        .replace("/work/rbac", &single.display().to_string())
        .replace("/work/parts/", &testdata("audit.log"));
    assert_ne!(whole, merge);
    let o = run_sh(&whole, &root, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let files = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != "summary.json")
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let merged = files(&root.join("work/rbac"));
    assert!(merged.len() >= 3, "{merged:?}");
    assert_eq!(merged, files(&single));
    let _ = std::fs::remove_dir_all(&root);
}
