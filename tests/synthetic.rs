//! Larger logs from the shared generator (../shared/tools/gen_audit_log.py): for every
//! subject, the generated RBAC allows every observed request, and in strict mode nothing
//! more. Ignored when ../shared is missing (failing under CI instead; see build.rs).

mod common;

use std::process::Command;

fn generate_log(format: &str, events: u32) -> String {
    let tool = common::shared_dir().join("tools/gen_audit_log.py");
    let out = common::scratch(&format!("synthetic-{format}-{events}.log"));
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
        .status()
        .expect("python3 runs the shared generator");
    assert!(status.success(), "the generator failed: {status:?}");
    out.display().to_string()
}

#[test]
#[cfg_attr(shared_missing, ignore = "needs ../shared beside the checkout")]
fn synthetic_logs_every_subject_covered_and_strict_exact() {
    for (format, events) in [("v1", 20000), ("v1beta1", 3000), ("eventlist", 3000)] {
        let log = generate_log(format, events);
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
