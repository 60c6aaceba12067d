//! Build script: with the `isal` feature, compiles the C shim over the system ISA-L library
//! (csrc/isal_shim.c) and links libisal. It also tells the tests whether `../shared` (the
//! corpus and the log generator) is beside the checkout: when it is missing outside CI,
//! `cfg(shared_missing)` marks the tests that need it as ignored; under CI (`CI=true`) they
//! run and fail. The same goes for `kubernetes-validate` (`cfg(kubernetes_validate_missing)`)
//! and for `chromium`, which the HTML report's browser tests need (`cfg(chromium_missing)`),
//! and for the rights to mount a tmpfs (root), which the real full-disk test needs
//! (`cfg(mount_rights_missing)`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_ISAL").is_some() {
        build_isal_shim();
    }
    mark_missing_shared();
    mark_missing_program("kubernetes-validate", "kubernetes_validate_missing");
    mark_missing_program("chromium", "chromium_missing");
    mark_missing_mount_rights();
}

/// `cfg(mount_rights_missing)` when not running as root outside CI: the full-disk test on a
/// real tmpfs (tests/serve_faults.rs) mounts one, and is then ignored; under CI (which runs
/// as root) it runs, and fails if the mount is refused.
fn mark_missing_mount_rights() {
    println!("cargo::rustc-check-cfg=cfg(mount_rights_missing)");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    if !root && !in_ci() {
        println!("cargo:rustc-cfg=mount_rights_missing");
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `cfg(CFG)` when `program` is not on PATH outside CI: the tests that need it (manifests
/// validated by `kubernetes-validate`, the HTML report in `chromium`; `.ci/run` installs
/// both) are then ignored; under CI they run and fail.
fn mark_missing_program(program: &str, cfg: &str) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    println!("cargo:rerun-if-env-changed=PATH");
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    if !found && !in_ci() {
        println!("cargo:rustc-cfg={cfg}");
    }
}

fn mark_missing_shared() {
    println!("cargo::rustc-check-cfg=cfg(shared_missing)");
    println!("cargo:rerun-if-env-changed=CI");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let shared = std::path::Path::new(&manifest).join("../shared");
    println!("cargo:rerun-if-changed={}", shared.display());
    let in_ci = in_ci();
    let present = shared.join("corpus").is_dir() && shared.join("tools").is_dir();
    if !present && !in_ci {
        println!("cargo:rustc-cfg=shared_missing");
    }
}

#[cfg(feature = "isal")]
fn build_isal_shim() {
    println!("cargo:rerun-if-changed=csrc/isal_shim.c");
    cc::Build::new()
        .file("csrc/isal_shim.c")
        .warnings(true)
        .compile("audit2role_isal_shim");
    println!("cargo:rustc-link-lib=isal");
}

#[cfg(not(feature = "isal"))]
fn build_isal_shim() {}
