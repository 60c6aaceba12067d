//! Members of a compressed stream (gzip members, zstd frames), read one after another by
//! [`GzMembers`] and [`ZstdFrames`]: where each starts in the decompressed bytes and lines, so that a member whose check fails (a CRC32 or length
//! mismatch, corrupt data) is reported as damaged from the line where it starts, told apart
//! from a stream that merely ends early; and what a run does with such damage
//! ([`end_of_input`]).
//!
//! Data is handed out as it is inflated, before the member's checksum (at its end) is known,
//! so lines of a damaged member may already be decoded and aggregated when the damage shows.
//! The run therefore fails (naming the file and the line after which data is suspect)
//! unless the user asked to keep what was read.

use crate::error::{Error, Result};
use std::fmt;
use std::io::{self, BufRead, Read};

/// A member of a compressed stream that failed its integrity check after it had produced
/// data: those bytes (from line `after_line + 1` of the decompressed stream) are suspect.
/// Its `Display` is the decompressor's own message, so the error reads as before.
#[derive(Debug)]
pub struct Damaged {
    /// "gzip member" or "zstd frame".
    pub unit: &'static str,
    /// Which member, from 1.
    pub index: u64,
    /// Decompressed bytes and complete lines before the member started.
    pub after_byte: u64,
    pub after_line: u64,
    /// Whether the member's checksum (rather than its compressed data) failed.
    pub checksum: bool,
    /// The decompressor's message.
    pub message: String,
}

impl fmt::Display for Damaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Damaged {}

impl Damaged {
    /// The damage a read error stands for, if it is one.
    pub fn of(e: &io::Error) -> Option<&Damaged> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Damaged>())
    }

    /// What is wrong, for people: `gzip member 2 fails its checksum (…): the data is damaged`.
    fn what(&self) -> String {
        let check = if self.checksum {
            "fails its checksum"
        } else {
            "has corrupt data"
        };
        format!(
            "{} {} {check} ({}): the data is damaged after line {} (byte {} of the decompressed stream)",
            self.unit, self.index, self.message, self.after_line, self.after_byte
        )
    }
}

/// Counts what a decompressor hands out, member by member.
#[derive(Clone, Debug, Default)]
pub struct MemberTrack {
    bytes: u64,
    lines: u64,
    start_bytes: u64,
    start_lines: u64,
    /// Members finished.
    ended: u64,
}

impl MemberTrack {
    /// `out` was handed out from the current member.
    pub fn produced(&mut self, out: &[u8]) {
        self.bytes += out.len() as u64;
        self.lines += memchr::memchr_iter(b'\n', out).count() as u64;
    }

    /// The current member ended and its check passed.
    pub fn member_end(&mut self) {
        self.ended += 1;
        self.start_bytes = self.bytes;
        self.start_lines = self.lines;
    }

    /// The error to return for `e`, met in the current member: a [`Damaged`] when the
    /// checksum at its end failed (`checksum`), or its data is corrupt after it handed some
    /// out; otherwise `e` itself (a truncated stream stays an `UnexpectedEof` error, and
    /// what follows the last member without being one is not damage of a member).
    pub fn error(&self, unit: &'static str, e: io::Error, checksum: bool) -> io::Error {
        let handed_out = self.bytes > self.start_bytes;
        if e.kind() == io::ErrorKind::UnexpectedEof || !(checksum || handed_out) {
            return e;
        }
        let kind = e.kind();
        io::Error::new(
            kind,
            Damaged {
                unit,
                index: self.ended + 1,
                after_byte: self.start_bytes,
                after_line: self.start_lines,
                checksum,
                message: e.to_string(),
            },
        )
    }
}

/// flate2's message for a CRC32 or length mismatch at a member's end.
const GZIP_CHECKSUM_MESSAGE: &str = "corrupt gzip stream does not have a matching checksum";

/// Every member of a gzip stream in turn (as flate2's `MultiGzDecoder` reads them: whatever
/// follows a member must be one too), with damage reported as [`Damaged`]. One decoder, and
/// its inflate state, serves every member.
pub struct GzMembers<R> {
    decoder: flate2::bufread::GzDecoder<Slot<R>>,
    /// The input ended cleanly after a member.
    done: bool,
    track: MemberTrack,
    /// The error that stopped the stream, repeated by later reads.
    failed: Option<(io::ErrorKind, String)>,
}

/// The input, which can be taken out of the decoder and handed back by `reset` for the
/// next member.
struct Slot<R>(Option<R>);

impl<R: Read> Read for Slot<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }
}

impl<R: BufRead> BufRead for Slot<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match &mut self.0 {
            Some(r) => r.fill_buf(),
            None => Ok(&[]),
        }
    }

    fn consume(&mut self, n: usize) {
        if let Some(r) = &mut self.0 {
            r.consume(n);
        }
    }
}

impl<R: BufRead> GzMembers<R> {
    pub fn new(reader: R) -> GzMembers<R> {
        GzMembers {
            decoder: flate2::bufread::GzDecoder::new(Slot(Some(reader))),
            done: false,
            track: MemberTrack::default(),
            failed: None,
        }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if out.is_empty() || self.done {
            return Ok(0);
        }
        loop {
            match self.decoder.read(out) {
                Ok(0) => {
                    // The member ended and its CRC32 and length matched.
                    self.track.member_end();
                    if self.decoder.get_mut().fill_buf()?.is_empty() {
                        self.done = true;
                        return Ok(0);
                    }
                    let reader = self.decoder.get_mut().0.take();
                    self.decoder.reset(Slot(reader));
                }
                Ok(n) => {
                    self.track.produced(&out[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(e) => {
                    self.failed = Some((e.kind(), e.to_string()));
                    let checksum = e.to_string() == GZIP_CHECKSUM_MESSAGE;
                    return Err(self.track.error("gzip member", e, checksum));
                }
            }
        }
    }
}

/// Every frame of a zstd stream in turn (skippable frames passed over, as `zstd -dc` does),
/// decompressed straight into the caller's buffer, with damage reported as [`Damaged`].
pub struct ZstdFrames<R> {
    reader: R,
    decoder: zstd::stream::raw::Decoder<'static>,
    track: MemberTrack,
    /// Input of a frame was consumed and the frame has not ended.
    in_frame: bool,
    /// The error that stopped the stream, repeated by later reads.
    failed: Option<(io::ErrorKind, String)>,
    /// An error found in a call that also decompressed data: returned by the next read.
    pending: Option<io::Error>,
}

impl<R: BufRead> ZstdFrames<R> {
    pub fn new(reader: R) -> io::Result<ZstdFrames<R>> {
        Ok(ZstdFrames {
            reader,
            decoder: zstd::stream::raw::Decoder::new()?,
            track: MemberTrack::default(),
            in_frame: false,
            failed: None,
            pending: None,
        })
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        self.failed = Some((e.kind(), e.to_string()));
        // libzstd's message for a content checksum that does not match.
        let checksum = e.to_string().contains("checksum");
        self.track.error("zstd frame", e, checksum)
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if let Some(e) = self.pending.take() {
            return Err(self.fail(e));
        }
        if out.is_empty() {
            return Ok(0);
        }
        // Calls that neither consume nor produce; two in a row mean no progress is possible.
        let mut stalled = 0;
        loop {
            let input = self.reader.fill_buf()?;
            let at_eof = input.is_empty();
            let mut src = InBuffer::around(input);
            let mut dst = OutBuffer::around(&mut *out);
            let result = self.decoder.run(&mut src, &mut dst);
            let (consumed, produced) = (src.pos(), dst.pos());
            self.reader.consume(consumed);
            let hint = match result {
                Ok(hint) => hint,
                Err(e) if produced > 0 => {
                    // What was decompressed with the damage found goes out first, so that
                    // the damage is reported with the lines it shaped.
                    self.track.produced(&out[..produced]);
                    self.pending = Some(e);
                    return Ok(produced);
                }
                Err(e) => return Err(self.fail(e)),
            };
            self.track.produced(&out[..produced]);
            if consumed > 0 {
                self.in_frame = true;
            }
            if hint == 0 && self.in_frame {
                // A frame ended and its checksum (when it has one) matched.
                self.in_frame = false;
                self.track.member_end();
            }
            if produced > 0 {
                return Ok(produced);
            }
            if at_eof {
                if self.in_frame {
                    let e = io::Error::new(io::ErrorKind::UnexpectedEof, "incomplete zstd frame");
                    return Err(self.fail(e));
                }
                return Ok(0);
            }
            if consumed == 0 {
                stalled += 1;
                if stalled > 1 {
                    let e =
                        io::Error::new(io::ErrorKind::InvalidData, "zstd decoder made no progress");
                    return Err(self.fail(e));
                }
            } else {
                stalled = 0;
            }
        }
    }
}

/// What damage does to a run: whether lines of a damaged member may be used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DamagePolicy {
    /// `--strict-input`: any read error fails the run.
    pub strict: bool,
    /// `--keep-damaged`: a damaged member's lines are used, with a warning.
    pub keep_damaged: bool,
}

/// What the read error `e`, which ended input `name` after `lines` lines (`bytes`
/// decompressed bytes), means for the run: the warning to report (the lines before it are
/// used), or the error that fails the run. A truncated stream is a warning; damage (a
/// member that fails its check after handing out lines) is an error unless it is kept;
/// running out of memory for a line is an error.
pub fn end_of_input(
    name: &str,
    lines: u64,
    bytes: u64,
    e: &io::Error,
    policy: DamagePolicy,
) -> Result<String> {
    let Some(damage) = Damaged::of(e) else {
        let message = crate::decode::read_error_message(lines, bytes, e);
        // Input that cannot be held is an error, never a crash nor a silent short read.
        if policy.strict || e.kind() == io::ErrorKind::OutOfMemory {
            return Err(Error::input(name, None, message));
        }
        return Ok(message);
    };
    let came = lines > damage.after_line;
    let suspect = if came {
        format!("lines {} to {lines} came from it", damage.after_line + 1)
    } else {
        "no whole line came from it".to_string()
    };
    if policy.keep_damaged && !policy.strict {
        let used = if came { " and were used" } else { "" };
        return Ok(format!(
            "{}; {suspect}{used} (--keep-damaged); input ends after line {lines}",
            damage.what()
        ));
    }
    Err(Error::input(
        name,
        None,
        format!(
            "{}; {suspect}, so nothing is output; pass --keep-damaged to use what was read",
            damage.what()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(mut r: impl Read) -> (Vec<u8>, Option<io::Error>) {
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn a_bad_checksum_in_the_second_member_is_damage_after_its_first_line() {
        let first = b"a\nb\n".repeat(10);
        let second = b"c\n".repeat(30);
        let mut gz = gzip(&first);
        let mut bad = gzip(&second);
        let n = bad.len();
        bad[n - 8] ^= 1; // CRC32
        gz.extend(bad);
        let (out, err) = read_all(GzMembers::new(&gz[..]));
        let err = err.expect("damage is an error");
        assert_eq!(err.to_string(), GZIP_CHECKSUM_MESSAGE);
        let d = Damaged::of(&err).expect("damage");
        assert_eq!((d.index, d.after_line, d.after_byte), (2, 20, 40));
        assert!(d.checksum);
        assert_eq!(out.len(), first.len() + second.len());
        // Later reads repeat the error.
        let mut r = GzMembers::new(&gz[..]);
        let _ = read_all(&mut r);
        assert!(r.read(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn truncation_and_garbage_after_a_member_are_not_damage() {
        let gz = gzip(&b"x\n".repeat(1000));
        let (_, err) = read_all(GzMembers::new(&gz[..gz.len() - 3]));
        let err = err.expect("truncation is an error");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(Damaged::of(&err).is_none());
        let mut tail = gz.clone();
        tail.extend_from_slice(b"garbage");
        let (out, err) = read_all(GzMembers::new(&tail[..]));
        let err = err.expect("garbage is an error");
        assert!(Damaged::of(&err).is_none(), "{err}");
        assert_eq!(out.len(), 2000);
    }

    /// One zstd frame of `bytes`, with a content checksum as `zstd` writes by default.
    fn zstd(bytes: &[u8]) -> Vec<u8> {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.include_checksum(true).unwrap();
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn zstd_frames_are_read_in_turn_and_a_bad_checksum_is_damage_of_the_second() {
        let first = b"a\nb\n".repeat(10);
        let second = b"c\n".repeat(30);
        let mut z = zstd(&first);
        // A skippable frame between the two.
        z.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        let good = z.len();
        z.extend(zstd(&second));
        let (out, err) = read_all(ZstdFrames::new(&z[..]).unwrap());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(out, [&first[..], &second[..]].concat());
        // The content checksum is the last four bytes.
        let mut bad = z.clone();
        let n = bad.len();
        bad[n - 2] ^= 1;
        let (out, err) = read_all(ZstdFrames::new(&bad[..]).unwrap());
        let err = err.expect("damage is an error");
        let d = Damaged::of(&err).unwrap_or_else(|| panic!("not damage: {err}"));
        assert_eq!((d.unit, d.after_line, d.after_byte), ("zstd frame", 20, 40));
        assert!(d.checksum, "{err}");
        assert!(out.starts_with(&first), "the first frame is handed out");
        // Truncated inside the second frame; garbage after the last frame.
        let (out, err) = read_all(ZstdFrames::new(&z[..z.len() - 3]).unwrap());
        let err = err.expect("truncation is an error");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(Damaged::of(&err).is_none());
        assert!(out.starts_with(&first));
        let mut tail = z[..good].to_vec();
        tail.extend_from_slice(b"not zstd");
        let (out, err) = read_all(ZstdFrames::new(&tail[..]).unwrap());
        let err = err.expect("garbage is an error");
        assert!(Damaged::of(&err).is_none(), "{err}");
        assert_eq!(out, first);
    }

    #[test]
    fn damage_fails_the_run_unless_kept() {
        let e = io::Error::new(
            io::ErrorKind::InvalidInput,
            Damaged {
                unit: "gzip member",
                index: 2,
                after_byte: 40,
                after_line: 20,
                checksum: true,
                message: GZIP_CHECKSUM_MESSAGE.to_string(),
            },
        );
        let fail = end_of_input("x.gz", 50, 100, &e, DamagePolicy::default()).unwrap_err();
        assert_eq!(
            fail.chain(),
            "x.gz: gzip member 2 fails its checksum (corrupt gzip stream does not have a matching checksum): the data is damaged after line 20 (byte 40 of the decompressed stream); lines 21 to 50 came from it, so nothing is output; pass --keep-damaged to use what was read"
        );
        let keep = DamagePolicy {
            keep_damaged: true,
            strict: false,
        };
        let warning = end_of_input("x.gz", 50, 100, &e, keep).unwrap();
        assert!(
            warning.ends_with("lines 21 to 50 came from it and were used (--keep-damaged); input ends after line 50"),
            "{warning}"
        );
        let strict = DamagePolicy {
            keep_damaged: true,
            strict: true,
        };
        assert!(end_of_input("x.gz", 50, 100, &e, strict).is_err());
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "incomplete");
        assert!(end_of_input("x.gz", 5, 9, &eof, DamagePolicy::default())
            .unwrap()
            .starts_with("input ends early after line 5"));
    }
}
