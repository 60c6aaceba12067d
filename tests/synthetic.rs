//! Larger logs from the shared generator (../shared/tools/gen_audit_log.py): for every
//! subject, the generated RBAC allows every observed request, and in strict mode nothing
//! more. Skips, saying so, when the generator or python3 is absent.

mod common;

use std::path::Path;
use std::process::Command;

fn generate_log(format: &str, events: u32) -> Option<String> {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_audit_log.py");
    if !tool.exists() {
        eprintln!("SKIPPED: {} not found", tool.display());
        return None;
    }
    let out = std::env::temp_dir().join(format!(
        "audit2role-synthetic-{}-{format}-{events}.log",
        std::process::id()
    ));
    let status = Command::new("python3")
        .arg(&tool)
        .args([
            "--events",
            &events.to_string(),
            "--seed",
            "7",
            "--format",
            format,
        ])
        .arg("--out")
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => Some(out.display().to_string()),
        other => {
            eprintln!("SKIPPED: the generator did not run: {other:?}");
            None
        }
    }
}

#[test]
fn synthetic_logs_every_subject_covered_and_strict_exact() {
    for (format, events) in [("v1", 20000), ("v1beta1", 3000), ("eventlist", 3000)] {
        let Some(log) = generate_log(format, events) else {
            return;
        };
        let (subjects, failures) = common::check_all_subjects(std::slice::from_ref(&log));
        let _ = std::fs::remove_file(&log);
        eprintln!("{format}: {subjects} subjects checked");
        assert!(subjects >= 20, "{format}: only {subjects} subjects decoded");
        assert!(
            failures.is_empty(),
            "{format}:\n{}",
            failures[..failures.len().min(20)].join("\n")
        );
    }
}
