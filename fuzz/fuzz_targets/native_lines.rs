//! Fuzz target: the log decoder (JSON lines, multi-line documents, lists) followed by
//! normalization and aggregation must never panic, and everything it counts must add up.
#![no_main]

use audit2role::aggregate::{Aggregate, Filter};
use audit2role::decode::{sink_fn, DecodeOptions, FileReport};
use audit2role::read::blocks::decode_stream;
use audit2role::request::normalize::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut report = FileReport::default();
    let mut aggregate = Aggregate::default();
    let filter = Filter::default();
    let mut accepted = 0u64;
    let result = decode_stream(data, &DecodeOptions::default(), &mut report, &mut sink_fn(|event, version, _line| {
        let n = normalize(event, version)?;
        aggregate.add(&n, &filter);
        accepted += 1;
        Ok(())
    }));
    assert!(result.is_ok(), "non-strict decoding never fails: {result:?}");
    assert_eq!(report.events, accepted);
    assert!(report.examples.len() <= audit2role::decode::EXAMPLES_PER_FILE);
    assert!(report.lines as usize <= data.iter().filter(|&&b| b == b'\n').count() + 1);
});
