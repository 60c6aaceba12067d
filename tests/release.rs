//! scripts/release.sh, kept short: the host target packaged from the binary cargo test
//! built (`--binary`: the script's own `cargo build` would replace that binary under the
//! tests running beside this one, since cargo test builds it with the dev-dependencies'
//! features), into a temporary folder. It checks what every archive holds, that SHA256SUMS
//! and the krew manifest carry the archives' real hashes, that the manifest has no
//! placeholder left, and that the same inputs give the same archive. The build step itself
//! (release profile, static musl) is run by hand: see README's release section.

mod common;

use common::{stderr, BIN, COMMANDS};
use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn release(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/release.sh"))
        .args([
            "--profile",
            "dev",
            "--target",
            "host",
            "--binary",
            BIN,
            "--out",
        ])
        .arg(out)
        .args(extra)
        .env("RELEASE_EPOCH", "1785000000");
    cmd.output().expect("bash runs")
}

fn sha256(path: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn release_archives_sums_and_krew_manifest() {
    let out = common::scratch("release");
    let urls = [
        "--base-url",
        "https://github.com/audit2role/audit2role/releases/download/v0.1.0",
        "--homepage",
        "https://github.com/audit2role/audit2role",
    ];
    let o = release(&out, &urls);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Nothing was compiled: no binary was replaced under the tests running beside this one.
    assert!(!stderr(&o).contains("Compiling"), "{}", stderr(&o));

    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let host = String::from_utf8(Command::new("rustc").arg("-vV").output().unwrap().stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(String::from))
        .unwrap();
    let name = format!("audit2role-{version}-{host}");
    let archive = out.join(format!("{name}.tar.gz"));

    // SHA256SUMS names every archive with its hash.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    assert_eq!(sums, format!("{}  {name}.tar.gz\n", sha256(&archive)));

    // The archive: one folder with the binary, LICENSE, README, completions, man pages.
    let listing = Command::new("tar")
        .arg("tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let mut files: Vec<String> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(String::from)
        .collect();
    files.sort();
    let commands = COMMANDS;
    let mut want: Vec<String> = ["LICENSE", "README.md", "audit2role"]
        .iter()
        .map(|f| f.to_string())
        .chain(
            [
                "completions/_audit2role",
                "completions/audit2role.bash",
                "completions/audit2role.fish",
            ]
            .map(String::from),
        )
        .chain(
            commands
                .iter()
                .map(|c| format!("man/man1/audit2role-{c}.1")),
        )
        .chain(["man/man1/audit2role.1".to_string()])
        .map(|f| format!("{name}/{f}"))
        .collect();
    want.sort();
    assert_eq!(files, want);
    let unpacked = out.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    let root = unpacked.join(&name);
    assert_eq!(
        std::fs::read(root.join("audit2role")).unwrap(),
        std::fs::read(BIN).unwrap()
    );
    assert_eq!(
        std::fs::read(root.join("LICENSE")).unwrap(),
        std::fs::read(repo().join("LICENSE")).unwrap()
    );
    assert!(
        std::fs::read_to_string(root.join("completions/audit2role.bash"))
            .unwrap()
            .contains("subjects")
    );
    let check_page = std::fs::read_to_string(root.join("man/man1/audit2role-check.1")).unwrap();
    assert!(check_page.contains("EXIT STATUS"));

    // The krew manifest: filled from the template, with this archive's URL and hash.
    let text = std::fs::read_to_string(out.join("audit2role.yaml")).unwrap();
    assert!(
        !text.contains("example.invalid") && !text.contains(&"0".repeat(64)),
        "{text}"
    );
    assert!(!text.contains('@'), "{text}");
    let manifest: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(manifest["kind"], "Plugin");
    assert_eq!(manifest["spec"]["version"], version.as_str());
    assert_eq!(
        manifest["spec"]["homepage"],
        "https://github.com/audit2role/audit2role"
    );
    let platforms = manifest["spec"]["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 1);
    let p = &platforms[0];
    assert_eq!(
        p["selector"]["matchLabels"],
        serde_json::json!({"os": "linux", "arch": "amd64"})
    );
    assert_eq!(
        p["uri"],
        format!("https://github.com/audit2role/audit2role/releases/download/v0.1.0/{name}.tar.gz")
            .as_str()
    );
    assert_eq!(p["sha256"], sha256(&archive).as_str());
    assert_eq!(p["bin"], "audit2role");
    for f in p["files"].as_array().unwrap() {
        let from = f["from"].as_str().unwrap();
        assert!(unpacked.join(from).is_file(), "{from}");
    }

    // Reproducible: the same inputs give the same archive.
    let again = out.join("again");
    let o = release(&again, &urls);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(again.join("SHA256SUMS")).unwrap(),
        sums
    );

    // A placeholder URL is refused before anything is built.
    let o = release(
        &out.join("bad"),
        &[
            "--base-url",
            "https://example.invalid/x",
            "--homepage",
            "https://example.invalid",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("placeholder"), "{}", stderr(&o));
}
