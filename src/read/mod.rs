//! Inputs: expand FILE arguments (files; directories walked in sorted order, links followed
//! only when asked; `-` for stdin), open each once with compression detected from magic
//! bytes (plain, gzip and zstd including multi-member streams, see [`members`]), and read it as blocks of whole lines
//! ([`blocks`]) that the pipeline ([`pipeline`]) decodes on every core.

pub mod blocks;
#[cfg(feature = "isal")]
pub mod isal;
pub mod members;
pub mod pipeline;

use crate::decode::Prefilter;
use crate::error::{Error, Result};
use crate::request::select::Filter;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How to read the inputs.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub filter: Filter,
    /// The first unusable line is an error instead of being skipped.
    pub strict_input: bool,
    /// Decoding threads; 0 means one per available core. Strict input uses one, so that
    /// the first bad line is the one reported.
    pub threads: usize,
    /// Show a progress line on stderr.
    pub progress: bool,
    /// Bytes per block; 0 means the default (tests use small blocks).
    pub block_size: usize,
    /// Not a filter of events but of detail: once an operation of a subject has this many
    /// distinct names, further new names are counted together
    /// ([`Aggregate::folding_names_after`](crate::aggregate::Aggregate::folding_names_after)).
    /// Only for output that cannot depend on them; `None` keeps every name.
    pub fold_names_after: Option<u32>,
    /// Use the lines of a compressed member that fails its check (with a warning) instead
    /// of failing the run (see [`members`]).
    pub keep_damaged: bool,
    /// Lines (and documents) longer than this many bytes are skipped unread and reported;
    /// 0 means [`blocks::MAX_LINE_BYTES`].
    pub max_line_bytes: usize,
}

impl ReadOptions {
    /// The number of decoding threads to use.
    pub fn effective_threads(&self) -> usize {
        if self.strict_input {
            return 1;
        }
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// What a damaged member does to the run.
    pub fn damage_policy(&self) -> members::DamagePolicy {
        members::DamagePolicy {
            strict: self.strict_input,
            keep_damaged: self.keep_damaged,
        }
    }

    /// The decoder's prefilter, derived from the selection here and only here. Strict
    /// input sees every line, so it has none.
    pub fn prefilter(&self) -> Option<Prefilter> {
        if self.strict_input {
            None
        } else {
            self.filter.prefilter()
        }
    }
}

/// One input to read: a path, or `-` for standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// What messages call it: the path, or `<stdin>`.
    pub name: String,
    /// `None` for stdin.
    pub path: Option<std::path::PathBuf>,
    /// Why a file found in a directory cannot be read; it is reported and passed over
    /// (a file named on the command line that cannot be read is an error instead).
    pub problem: Option<String>,
}

impl Source {
    /// Size in bytes on disk (compressed size for compressed files), when known.
    pub fn size(&self) -> Option<u64> {
        self.path
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
    }
}

/// How directories are walked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkOptions {
    /// Follow symbolic links met while walking (with loop detection); by default they are
    /// passed over, so a link cannot pull in files from outside the directory.
    pub follow_links: bool,
}

/// [`expand_sources_with`] with the default [`WalkOptions`].
pub fn expand_sources(args: &[String]) -> Result<Vec<Source>> {
    expand_sources_with(args, &WalkOptions::default())
}

/// Expands the arguments: a directory becomes every regular file below it, sorted by path;
/// `-` is stdin. A missing path is an error naming it; an entry below a directory that
/// cannot be read is reported and passed over.
pub fn expand_sources_with(args: &[String], options: &WalkOptions) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(Source {
                name: "<stdin>".to_string(),
                path: None,
                problem: None,
            });
            continue;
        }
        let path = Path::new(arg);
        let meta = std::fs::metadata(path).map_err(|e| Error::io(arg, "open", e))?;
        if meta.is_dir() {
            let mut files = walk_dir(path, options)?;
            files.sort();
            out.extend(files.into_iter().map(|(p, problem)| Source {
                name: p.display().to_string(),
                path: Some(p),
                problem,
            }));
        } else {
            out.push(Source {
                name: arg.clone(),
                path: Some(path.to_path_buf()),
                problem: None,
            });
        }
    }
    Ok(out)
}

/// Every regular file below `dir`, with the reason when one cannot be opened; entries that
/// cannot be read (an unreadable subdirectory, a link loop) come with their reason too.
fn walk_dir(
    dir: &Path,
    options: &WalkOptions,
) -> Result<Vec<(std::path::PathBuf, Option<String>)>> {
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(options.follow_links)
        .min_depth(1);
    for entry in walk {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let problem = File::open(e.path())
                    .err()
                    .map(|err| format!("cannot open: {err}"));
                files.push((e.into_path(), problem));
            }
            Ok(_) => {}
            Err(err) if err.depth() == 0 => {
                // The directory named on the command line itself.
                let name = dir.display().to_string();
                return Err(match err.into_io_error() {
                    Some(io) => Error::io(&name, "read directory", io),
                    None => Error::input(&name, None, "cannot read directory"),
                });
            }
            Err(err) => {
                let path = err.path().unwrap_or(dir).to_path_buf();
                let reason = match (err.loop_ancestor(), err.io_error()) {
                    (Some(ancestor), _) => format!(
                        "symbolic link loop back to {}, not followed again",
                        ancestor.display()
                    ),
                    (None, Some(io)) => format!("cannot open: {io}"),
                    (None, None) => format!("cannot open: {err}"),
                };
                files.push((path, Some(reason)));
            }
        }
    }
    Ok(files)
}

/// Compression of an input, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Recognizes compression from magic bytes; formats we cannot read are errors.
pub fn detect_compression(head: &[u8]) -> std::result::Result<Compression, &'static str> {
    match head {
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        // A zstd frame, or a skippable frame (which zstd streams may start with).
        [0x28, 0xb5, 0x2f, 0xfd, ..] | [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => Ok(Compression::Zstd),
        [b'B', b'Z', b'h', ..] => {
            Err("bzip2-compressed input is not supported; decompress it first (bzip2 -dc)")
        }
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => {
            Err("xz-compressed input is not supported; decompress it first (xz -dc)")
        }
        _ => Ok(Compression::None),
    }
}

/// How many decompressed bytes [`open`] reads ahead: enough for any header sniffed.
pub const HEAD_LEN: usize = 64;

/// The longest magic number [`detect_compression`] looks at.
const MAGIC_LEN: usize = 6;

/// Bytes asked for by the first read of a source (which the magic number comes from).
const FIRST_READ: usize = 64 << 10;

/// A source opened for reading, once: its decompressed bytes, the first [`HEAD_LEN`] of
/// them read ahead so that what the input holds (a log or a partial aggregate) can be told
/// without opening it again, which a pipe or FIFO would not survive.
pub struct Opened {
    head: Vec<u8>,
    /// How much of `head` was handed out.
    pos: usize,
    /// A read error met while reading ahead, handed out after the head.
    error: Option<io::Error>,
    rest: Box<dyn Read + Send>,
    /// Raw (compressed) bytes read so far, for the progress line.
    raw_read: Arc<AtomicU64>,
}

impl Opened {
    /// The first bytes of the decompressed stream: [`HEAD_LEN`] of them, or fewer when the
    /// stream is shorter or a read error ended it.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// A counter of the raw bytes read from the source.
    pub fn raw_read(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.raw_read)
    }
}

impl Read for Opened {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head.len() {
            let n = buf.len().min(self.head.len() - self.pos);
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.rest.read(buf)
    }
}

/// Opens `source` (once) and reads ahead the head of its decompressed bytes.
pub fn open(source: &Source) -> Result<Opened> {
    let raw_read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: open_raw(source)?,
        counter: Arc::clone(&raw_read),
    };
    let mut rest = decompress(source, counting)?;
    let (head, error) = read_ahead(&mut rest, HEAD_LEN, HEAD_LEN);
    Ok(Opened {
        head,
        pos: 0,
        error,
        rest,
        raw_read,
    })
}

/// The first bytes of `reader`: at least `n` (fewer only at its end), as many as its first
/// reads into `capacity` bytes give; and the error that stopped reading, if any. A first
/// read of a whole chunk keeps a file's later reads aligned (a read at offset 6 copies
/// several times slower than one at a page boundary).
fn read_ahead(reader: &mut dyn Read, n: usize, capacity: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut head = vec![0u8; capacity.max(n)];
    let mut len = 0;
    let mut error = None;
    while len < n {
        match reader.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(k) => len += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    head.truncate(len);
    (head, error)
}

/// Opens a source's raw (possibly compressed) bytes.
fn open_raw(source: &Source) -> Result<Box<dyn Read + Send>> {
    Ok(match &source.path {
        None => Box::new(io::stdin()),
        Some(p) => Box::new(File::open(p).map_err(|e| Error::io(&source.name, "open", e))?),
    })
}

/// Wraps raw bytes in the decompressor their magic bytes call for.
pub fn decompress<R: Read + Send + 'static>(
    source: &Source,
    mut raw: R,
) -> Result<Box<dyn Read + Send>> {
    let (magic, error) = read_ahead(&mut raw, MAGIC_LEN, FIRST_READ);
    if let Some(e) = error {
        return Err(Error::io(&source.name, "read", e));
    }
    let compression =
        detect_compression(&magic).map_err(|m| Error::input(&source.name, None, m))?;
    let bytes = io::Cursor::new(magic).chain(raw);
    match compression {
        // Plain bytes are read in blocks, large enough to need no buffer of their own.
        Compression::None => Ok(Box::new(bytes)),
        Compression::Gzip => gzip_decoder(BufReader::with_capacity(1 << 20, bytes))
            .map_err(|e| Error::io(&source.name, "read", e)),
        Compression::Zstd => members::ZstdFrames::new(BufReader::with_capacity(1 << 20, bytes))
            .map(|d| Box::new(d) as Box<dyn Read + Send>)
            .map_err(|e| Error::io(&source.name, "read", e)),
    }
}

/// Counts the bytes read from the underlying input, for the progress line.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The gzip decoder (every member, in order): ISA-L with the `isal` feature, else flate2 with
/// zlib-rs. This is the one place that chooses.
pub fn gzip_decoder<R: BufRead + Send + 'static>(reader: R) -> io::Result<Box<dyn Read + Send>> {
    #[cfg(feature = "isal")]
    {
        Ok(Box::new(isal::IsalGzDecoder::new(reader)?))
    }
    #[cfg(not(feature = "isal"))]
    {
        Ok(Box::new(members::GzMembers::new(reader)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_magic_bytes() {
        assert_eq!(detect_compression(&[0x1f, 0x8b, 8]), Ok(Compression::Gzip));
        assert_eq!(detect_compression(b"{\"a\":1}"), Ok(Compression::None));
        assert_eq!(detect_compression(b""), Ok(Compression::None));
        assert_eq!(
            detect_compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Ok(Compression::Zstd)
        );
        assert_eq!(
            detect_compression(&[0x50, 0x2a, 0x4d, 0x18, 0]),
            Ok(Compression::Zstd)
        );
        assert!(detect_compression(b"BZh91AY").is_err());
    }
}
