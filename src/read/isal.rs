//! Gzip inflate with the system ISA-L library (cargo feature `isal`): a `Read` adapter over
//! the C shim in csrc/isal_shim.c, which owns ISA-L's state. Multi-member streams are read
//! through; damage is an `io::Error` of the kind and wording the flate2 path uses, a member
//! that fails its check after handing out data a [`Damaged`](super::members::Damaged) one.

use std::ffi::c_int;
use std::io::{self, BufRead, Read};
use std::ptr::NonNull;

use super::members::MemberTrack;

/// ISA-L's `struct inflate_state`, seen from Rust only behind a pointer.
#[repr(C)]
struct InflateState {
    _opaque: [u8; 0],
}

// Results of `a2r_isal_step`, as defined in csrc/isal_shim.c.
const STEP_OK: c_int = 0;
const STEP_MEMBER_END: c_int = 1;
const STEP_BAD_HEADER: c_int = 2;
const STEP_CORRUPT: c_int = 3;
const STEP_CHECKSUM: c_int = 4;
const STEP_INTERNAL: c_int = 5;

extern "C" {
    fn a2r_isal_new() -> *mut InflateState;
    fn a2r_isal_reset(state: *mut InflateState);
    fn a2r_isal_free(state: *mut InflateState);
    fn a2r_isal_step(
        state: *mut InflateState,
        input: *const u8,
        in_len: usize,
        out: *mut u8,
        out_len: usize,
        consumed: *mut usize,
        produced: *mut usize,
    ) -> c_int;
}

/// Owns one ISA-L inflate state; freed on drop.
struct Inflater(NonNull<InflateState>);

// SAFETY: the state is plain memory owned by this value alone; ISA-L keeps no reference to
// the thread that created it, and `&mut self` on every use rules out concurrent access.
unsafe impl Send for Inflater {}

impl Inflater {
    fn new() -> io::Result<Self> {
        // SAFETY: a2r_isal_new has no preconditions; it returns NULL only when out of memory.
        let state = unsafe { a2r_isal_new() };
        NonNull::new(state).map(Inflater).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                "cannot allocate the ISA-L inflate state",
            )
        })
    }

    fn reset(&mut self) {
        // SAFETY: the pointer came from a2r_isal_new and is not freed before drop.
        unsafe { a2r_isal_reset(self.0.as_ptr()) }
    }

    /// Inflates from `input` into `out`: (shim result, bytes consumed, bytes produced).
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> (c_int, usize, usize) {
        let mut consumed = 0usize;
        let mut produced = 0usize;
        // SAFETY: the pointer is live; the shim reads at most input.len() bytes of input and
        // writes at most out.len() bytes of out, and keeps neither pointer after returning.
        let status = unsafe {
            a2r_isal_step(
                self.0.as_ptr(),
                input.as_ptr(),
                input.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut consumed,
                &mut produced,
            )
        };
        // The shim reports counts within the lengths it was given; clamp to be certain.
        (status, consumed.min(input.len()), produced.min(out.len()))
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a2r_isal_new and is freed exactly once, here.
        unsafe { a2r_isal_free(self.0.as_ptr()) }
    }
}

/// The message for a CRC32 or ISIZE mismatch (flate2's wording).
const CHECKSUM_MESSAGE: &str = "corrupt gzip stream does not have a matching checksum";

/// Where the decoder is in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Inside a member (or before the first one).
    Member,
    /// A member ended; a new one starts if more input follows.
    Between,
    /// The input ended cleanly after a member.
    Done,
    /// The stream is damaged; the data inflated with the damage found was handed out, and
    /// the next read returns the error.
    Failing(io::ErrorKind, &'static str),
    /// The stream is damaged; every later read repeats this error.
    Failed(io::ErrorKind, &'static str),
}

/// Decompresses a gzip stream of one or more members read from `inner`, inflating straight
/// into the caller's buffer.
pub struct IsalGzDecoder<R> {
    inner: R,
    inflater: Inflater,
    phase: Phase,
    track: MemberTrack,
}

impl<R: BufRead> IsalGzDecoder<R> {
    pub fn new(inner: R) -> io::Result<Self> {
        Ok(IsalGzDecoder {
            inner,
            inflater: Inflater::new()?,
            phase: Phase::Member,
            track: MemberTrack::default(),
        })
    }

    fn fail(&mut self, kind: io::ErrorKind, message: &'static str) -> io::Error {
        self.phase = Phase::Failed(kind, message);
        let checksum = message == CHECKSUM_MESSAGE;
        self.track
            .error("gzip member", io::Error::new(kind, message), checksum)
    }

    /// Damage found in a call that also inflated `produced` bytes: they are handed out
    /// first (as flate2 does), so that the damage is reported with the lines it shaped.
    fn damaged(
        &mut self,
        kind: io::ErrorKind,
        message: &'static str,
        produced: &[u8],
    ) -> io::Result<usize> {
        if produced.is_empty() {
            return Err(self.fail(kind, message));
        }
        self.track.produced(produced);
        self.phase = Phase::Failing(kind, message);
        Ok(produced.len())
    }
}

impl<R: BufRead> Read for IsalGzDecoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        // Calls that neither consume nor produce; ISA-L buffers partial input itself, so
        // a second one in a row would mean it cannot go on.
        let mut stalled = 0;
        loop {
            match self.phase {
                Phase::Done => return Ok(0),
                Phase::Failed(kind, message) => return Err(io::Error::new(kind, message)),
                Phase::Failing(kind, message) => return Err(self.fail(kind, message)),
                Phase::Member | Phase::Between => {}
            }
            let input = self.inner.fill_buf()?;
            let at_eof = input.is_empty();
            if self.phase == Phase::Between {
                if at_eof {
                    self.phase = Phase::Done;
                    return Ok(0);
                }
                // Like flate2's MultiGzDecoder: whatever follows a member must be one too.
                self.inflater.reset();
                self.phase = Phase::Member;
            }
            let (status, consumed, produced) = self.inflater.step(input, out);
            self.inner.consume(consumed);
            match status {
                STEP_OK | STEP_MEMBER_END => {
                    self.track.produced(&out[..produced]);
                    if status == STEP_MEMBER_END {
                        self.phase = Phase::Between;
                        self.track.member_end();
                    }
                    if produced > 0 {
                        return Ok(produced);
                    }
                    if status == STEP_OK && at_eof {
                        return Err(
                            self.fail(io::ErrorKind::UnexpectedEof, "incomplete gzip stream")
                        );
                    }
                    if consumed == 0 && status == STEP_OK {
                        stalled += 1;
                        if stalled > 1 {
                            return Err(self.fail(
                                io::ErrorKind::InvalidData,
                                "gzip decoder made no progress",
                            ));
                        }
                    } else {
                        stalled = 0;
                    }
                }
                STEP_BAD_HEADER => {
                    return Err(self.fail(io::ErrorKind::InvalidInput, "invalid gzip header"))
                }
                STEP_CHECKSUM => {
                    let kind = io::ErrorKind::InvalidInput;
                    return self.damaged(kind, CHECKSUM_MESSAGE, &out[..produced]);
                }
                STEP_CORRUPT => {
                    let kind = io::ErrorKind::InvalidInput;
                    return self.damaged(kind, "corrupt deflate stream", &out[..produced]);
                }
                STEP_INTERNAL => {
                    return Err(self.fail(
                        io::ErrorKind::Other,
                        "ISA-L reported buffer counts outside the buffers it was given",
                    ))
                }
                _ => {
                    return Err(self.fail(
                        io::ErrorKind::Other,
                        "unexpected result from the ISA-L shim",
                    ))
                }
            }
        }
    }
}
