//! Fuzz target: whenever the hand-written scanner decodes a line, serde_json must decode it
//! to the same event (the scanner may only decline, never disagree).
#![no_main]

use audit2role::decode::native::parse;
use audit2role::decode::scan::scan_event;
use audit2role::normalize::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(scanned) = scan_event(text) else {
        return;
    };
    let parsed = parse(text).expect("serde_json accepts what the scanner accepts");
    let docs = parsed.docs();
    assert_eq!(docs.len(), 1);
    let a = normalize(&scanned, None);
    let b = normalize(&docs[0], None);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
});
