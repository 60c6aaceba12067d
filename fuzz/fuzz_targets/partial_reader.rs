//! Fuzz target: the partial-aggregate reader returns an aggregate or an error naming a line
//! for any bytes, never panics; what it accepts writes back and reads again the same.
#![no_main]

use audit2role::aggregate::{Aggregate, Filter};
use audit2role::aggregate::partial::{read_from, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut aggregate = Aggregate::default();
    let Ok((_, inputs)) = read_from(data, "fuzz", &Filter::default(), &mut aggregate) else {
        return;
    };
    let mut once = Vec::new();
    write(&aggregate, &inputs, &mut once).unwrap();
    let mut again = Aggregate::default();
    let (_, inputs2) = read_from(&once[..], "again", &Filter::default(), &mut again).unwrap();
    let mut twice = Vec::new();
    write(&again, &inputs2, &mut twice).unwrap();
    assert_eq!(once, twice);
});
