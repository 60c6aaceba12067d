//! Fuzz target: whenever the strict scanner decodes a line, serde_json must decode it to the
//! same event (the strict scanner may only decline, never disagree). The lax scanner (the
//! one the reader uses, which skips unread bodies by structure) must read the same event
//! whenever serde_json or the strict scanner accepts the line.
#![no_main]

use audit2role::decode::record::parse_events;
use audit2role::decode::scan::{scan_event, scan_event_strict};
use audit2role::request::normalize::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lax = scan_event(text).map(|doc| format!("{:?}", normalize(&doc, None)));
    let parsed = parse_events(text).ok();
    if let (Some(lax), Some(parsed)) = (&lax, &parsed) {
        assert_eq!(parsed.len(), 1);
        assert_eq!(lax, &format!("{:?}", normalize(&parsed[0], None)));
    }
    let Some(strict) = scan_event_strict(text) else {
        return;
    };
    let parsed = parsed.expect("serde_json accepts what the strict scanner accepts");
    assert_eq!(parsed.len(), 1);
    let strict = format!("{:?}", normalize(&strict, None));
    assert_eq!(strict, format!("{:?}", normalize(&parsed[0], None)));
    assert_eq!(Some(strict), lax, "the lax scanner declined what the strict one read");
});
