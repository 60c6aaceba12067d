//! Build script: with the `isal` feature, compiles the C shim over the system ISA-L library
//! (csrc/isal_shim.c) and links libisal; without it, does nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_ISAL").is_some() {
        build_isal_shim();
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
