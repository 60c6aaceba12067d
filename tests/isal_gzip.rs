//! The ISA-L gzip backend (feature `isal`) against flate2/zlib-rs: the same bytes out of
//! multi-member streams whatever the read sizes, and an error from both (never a panic or
//! a silent short read) on truncated, corrupt or garbage-tailed input.
#![cfg(feature = "isal")]

use audit2role::read::isal::IsalGzDecoder;
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{self, BufReader, Read, Write};

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::new(level));
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Log-like text with enough variety to give dynamic Huffman blocks and long matches.
fn text(lines: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::new();
    for i in 0..lines {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        writeln!(
            out,
            "{{\"verb\":\"get\",\"user\":\"user-{}\",\"name\":\"cm-{i}\",\"n\":{}}}",
            state % 97,
            state >> 40
        )
        .unwrap();
    }
    out
}

/// What a reader gave before it ended, and the error that ended it, if any.
type Outcome = (Vec<u8>, Option<io::Error>);

/// Reads all of `r` with reads of at most `chunk` bytes; the error, if any, ends it.
fn read_all(mut r: impl Read, chunk: usize) -> Outcome {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (out, None),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Some(e)),
        }
    }
}

/// Both backends over `bytes`, with input handed over `in_chunk` bytes at a time.
fn both(bytes: &[u8], in_chunk: usize, out_chunk: usize) -> (Outcome, Outcome) {
    let isal = IsalGzDecoder::new(BufReader::with_capacity(in_chunk, bytes)).unwrap();
    let zlib = MultiGzDecoder::new(BufReader::with_capacity(in_chunk, bytes));
    (read_all(isal, out_chunk), read_all(zlib, out_chunk))
}

fn members() -> (Vec<u8>, Vec<u8>) {
    let parts = [
        text(4_000, 1),
        Vec::new(),
        text(3, 2),
        text(12_000, 3),
        b"x".to_vec(),
    ];
    let mut plain = Vec::new();
    let mut gz = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        plain.extend_from_slice(p);
        gz.extend(gzip(p, [6, 1, 9, 0, 6][i]));
    }
    (plain, gz)
}

#[test]
fn multi_member_output_matches_zlib_rs_for_any_read_sizes() {
    let (plain, gz) = members();
    for (in_chunk, out_chunk) in [
        (1 << 20, 1 << 20),
        (1, 1 << 16),
        (7, 3),
        (4096, 1),
        (65_536, 100_000),
        (333, 1 << 20),
    ] {
        let ((isal, isal_err), (zlib, zlib_err)) = both(&gz, in_chunk, out_chunk);
        assert!(isal_err.is_none(), "{in_chunk}/{out_chunk}: {isal_err:?}");
        assert!(zlib_err.is_none(), "{in_chunk}/{out_chunk}: {zlib_err:?}");
        assert!(
            isal == plain,
            "isal output differs ({in_chunk}/{out_chunk})"
        );
        assert!(
            zlib == plain,
            "zlib-rs output differs ({in_chunk}/{out_chunk})"
        );
    }
}

#[test]
fn source_decompress_reads_members_through_isal() {
    let (plain, gz) = members();
    let src = audit2role::read::Source {
        name: "mem.gz".to_string(),
        path: None,
        problem: None,
    };
    let reader = audit2role::read::decompress(&src, io::Cursor::new(gz)).unwrap();
    let (out, err) = read_all(reader, 1 << 20);
    assert!(err.is_none(), "{err:?}");
    assert!(out == plain);
}

#[test]
fn truncation_anywhere_is_an_error_from_both() {
    let plain = text(100, 4);
    let mut gz = gzip(&plain, 6);
    gz.extend(gzip(&plain, 6));
    let mut both_plain = plain.clone();
    both_plain.extend_from_slice(&plain);
    let first_len = gzip(&plain, 6).len();
    // Every cut near the headers and trailers, and a spread of cuts in the deflate data.
    let near = |at: usize, cut: usize| cut.abs_diff(at) <= 24;
    let cuts = (1..gz.len()).filter(|&cut| {
        near(0, cut) || near(first_len, cut) || near(gz.len(), cut) || cut % 61 == 0
    });
    for cut in cuts {
        if cut == first_len {
            continue; // a clean member boundary: a complete stream
        }
        for in_chunk in [1 << 20, 5] {
            let ((isal, isal_err), (zlib, zlib_err)) = both(&gz[..cut], in_chunk, 1 << 16);
            let isal_err = isal_err.unwrap_or_else(|| panic!("isal: no error at cut {cut}"));
            let zlib_err = zlib_err.unwrap_or_else(|| panic!("zlib-rs: no error at cut {cut}"));
            assert_eq!(isal_err.kind(), io::ErrorKind::UnexpectedEof, "cut {cut}");
            assert_eq!(zlib_err.kind(), io::ErrorKind::UnexpectedEof, "cut {cut}");
            assert!(both_plain.starts_with(&isal), "isal output at cut {cut}");
            assert!(both_plain.starts_with(&zlib), "zlib-rs output at cut {cut}");
        }
    }
}

#[test]
fn garbage_after_a_member_is_an_error_from_both() {
    let plain = text(2000, 5);
    for tail in [
        &b"this is not gzip at all\n\x00\x01"[..],
        &[0u8; 64][..],
        &[0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
    ] {
        let mut gz = gzip(&plain, 6);
        gz.extend_from_slice(tail);
        let ((isal, isal_err), (zlib, zlib_err)) = both(&gz, 1 << 20, 1 << 20);
        let isal_err = isal_err.expect("isal: garbage accepted");
        let zlib_err = zlib_err.expect("zlib-rs: garbage accepted");
        assert_eq!(isal_err.kind(), zlib_err.kind(), "{isal_err} / {zlib_err}");
        assert_eq!(isal_err.to_string(), "invalid gzip header");
        assert!(isal == plain && zlib == plain);
    }
}

#[test]
fn corrupt_data_and_checksums_are_errors_from_both() {
    let plain = text(2000, 6);
    let gz = gzip(&plain, 6);
    let n = gz.len();
    // The CRC32 and ISIZE trailer.
    for at in [n - 8, n - 5, n - 4, n - 1] {
        let mut bad = gz.clone();
        bad[at] ^= 0x40;
        let ((_, isal_err), (_, zlib_err)) = both(&bad, 1 << 20, 1 << 20);
        let isal_err = isal_err.expect("isal: bad trailer accepted");
        let zlib_err = zlib_err.expect("zlib-rs: bad trailer accepted");
        assert_eq!(isal_err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(isal_err.to_string(), zlib_err.to_string());
    }
    // Damage in the deflate data: either a decoding error or a checksum mismatch, and the
    // same one from both.
    for at in (10..n - 8).step_by(97) {
        let mut bad = gz.clone();
        bad[at] ^= 0x5a;
        let ((_, isal_err), (_, zlib_err)) = both(&bad, 1 << 20, 1 << 20);
        let isal_err = isal_err.unwrap_or_else(|| panic!("isal: damage at {at} accepted"));
        let zlib_err = zlib_err.unwrap_or_else(|| panic!("zlib-rs: damage at {at} accepted"));
        assert_eq!(
            isal_err.kind(),
            zlib_err.kind(),
            "at {at}: {isal_err} / {zlib_err}"
        );
    }
    // A header that is not gzip's (method 7).
    let mut bad = gz.clone();
    bad[2] = 7;
    let ((_, isal_err), (_, zlib_err)) = both(&bad, 1 << 20, 1 << 20);
    assert_eq!(isal_err.unwrap().to_string(), "invalid gzip header");
    assert_eq!(zlib_err.unwrap().to_string(), "invalid gzip header");
}

#[test]
fn an_error_is_repeated_not_turned_into_end_of_input() {
    let plain = text(2000, 7);
    let gz = gzip(&plain, 6);
    let mut r = IsalGzDecoder::new(BufReader::new(&gz[..gz.len() / 2])).unwrap();
    let (_, err) = read_all(&mut r, 1 << 16);
    assert!(err.is_some());
    let mut buf = [0u8; 16];
    assert!(r.read(&mut buf).is_err());
}

#[test]
fn a_member_that_fails_its_check_is_damage_at_the_same_place_from_both() {
    use audit2role::read::members::{Damaged, GzMembers};
    let first = text(300, 8);
    let second = text(500, 9);
    let mut gz = gzip(&first, 6);
    let good_len = gz.len();
    gz.extend(gzip(&second, 0));
    let lines = first.iter().filter(|&&b| b == b'\n').count() as u64;
    // A changed byte in the stored data of the second member (a CRC32 mismatch), and a
    // changed byte of its CRC32 itself.
    for at in [good_len + 400, gz.len() - 6] {
        let mut bad = gz.clone();
        bad[at] ^= 0x01;
        let isal = read_all(
            IsalGzDecoder::new(BufReader::with_capacity(4096, &bad[..])).unwrap(),
            1 << 16,
        );
        let zlib = read_all(
            GzMembers::new(BufReader::with_capacity(4096, &bad[..])),
            1 << 16,
        );
        for (who, (_, err)) in [("isal", &isal), ("zlib-rs", &zlib)] {
            let err = err
                .as_ref()
                .unwrap_or_else(|| panic!("{who}: damage accepted"));
            let d = Damaged::of(err).unwrap_or_else(|| panic!("{who}: not damage: {err}"));
            assert_eq!((d.index, d.after_line), (2, lines), "{who}");
            assert_eq!(d.after_byte, first.len() as u64, "{who}");
            assert!(d.checksum, "{who}");
        }
    }
}
