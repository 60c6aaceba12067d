//! Build script: with the `isal` feature, compiles the C shim over the system ISA-L library
//! (csrc/isal_shim.c) and links libisal. It also tells the tests whether `../shared` (the
//! corpus and the log generator) is beside the checkout: when it is missing outside CI,
//! `cfg(shared_missing)` marks the tests that need it as ignored; under CI (`CI=true`) they
//! run and fail. Likewise `cfg(chromium_missing)` marks the browser tests of the HTML report
//! as ignored when no `chromium` is on PATH outside CI.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_ISAL").is_some() {
        build_isal_shim();
    }
    mark_missing_shared();
    mark_missing_chromium();
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn mark_missing_chromium() {
    println!("cargo::rustc-check-cfg=cfg(chromium_missing)");
    println!("cargo:rerun-if-env-changed=PATH");
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("chromium").is_file()));
    if !found && !in_ci() {
        println!("cargo:rustc-cfg=chromium_missing");
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
