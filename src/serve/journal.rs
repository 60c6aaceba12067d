//! The journal: an append-only file of records, each the effect of one acknowledged batch
//! (see [`super::ingest::payload`]), framed as length (4 bytes, little endian), CRC-32 of
//! the payload (4 bytes) and the payload. Appends are made durable in groups (one
//! `fdatasync` for every batch the writer took at once); on start the records are read
//! back up to the first one that is incomplete or fails its checksum (a torn tail: it was
//! never acknowledged), and the file is cut there.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes before each payload: length and checksum.
pub const FRAME: usize = 8;

/// The largest payload a record may have (a record claiming more is damage).
pub const MAX_RECORD: usize = 1 << 30;

/// What reading a journal back found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The payloads of the whole records, in order.
    pub records: Vec<Vec<u8>>,
    /// Where the whole records end (the file is cut there).
    pub good_len: u64,
    /// Bytes after them that were dropped (a torn or damaged tail), 0 if none.
    pub dropped: u64,
}

/// An open journal, appended to by one writer.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Bytes of whole, synced records.
    len: u64,
}

/// Frames one payload as a record.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Reads the records of `bytes` up to the first incomplete or damaged one.
pub fn parse(bytes: &[u8]) -> Recovered {
    let mut records = Vec::new();
    let mut at = 0usize;
    while bytes.len() - at >= FRAME {
        let len =
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let start = at + FRAME;
        if len > MAX_RECORD || bytes.len() - start < len {
            break;
        }
        let payload = &bytes[start..start + len];
        if crc32fast::hash(payload) != crc {
            break;
        }
        records.push(payload.to_vec());
        at = start + len;
    }
    Recovered {
        records,
        good_len: at as u64,
        dropped: (bytes.len() - at) as u64,
    }
}

impl Journal {
    /// Opens (creating it if needed) the journal at `path`, reads its whole records back
    /// and cuts off a torn tail, durably, before anything is appended.
    pub fn open(path: &Path) -> io::Result<(Journal, Recovered)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let recovered = parse(&bytes);
        if recovered.dropped > 0 {
            file.set_len(recovered.good_len)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::Start(recovered.good_len))?;
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
                len: recovered.good_len,
            },
            recovered,
        ))
    }

    /// Bytes of whole records.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `framed` (whole records) and syncs. On failure the file is cut back to its
    /// last synced length, so a failed group leaves no partial record behind; if even that
    /// fails the error says so and the journal must not be appended to again.
    pub fn append_sync(&mut self, framed: &[u8]) -> Result<(), AppendError> {
        let result = self
            .file
            .write_all(framed)
            .and_then(|_| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += framed.len() as u64;
                Ok(())
            }
            Err(e) => {
                let restored = self
                    .file
                    .set_len(self.len)
                    .and_then(|_| self.file.seek(SeekFrom::Start(self.len)).map(|_| ()))
                    .and_then(|_| self.file.sync_all());
                match restored {
                    Ok(()) => Err(AppendError::NotWritten(e)),
                    Err(_) => Err(AppendError::Broken(e)),
                }
            }
        }
    }
}

/// Why an append failed.
#[derive(Debug)]
pub enum AppendError {
    /// Nothing of the group is in the journal; later appends may succeed (disk full).
    NotWritten(io::Error),
    /// The journal could not be cut back: it must not be used again.
    Broken(io::Error),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::NotWritten(e) => write!(f, "journal write failed: {e}"),
            AppendError::Broken(e) => {
                write!(f, "journal write failed and could not be undone: {e}")
            }
        }
    }
}

/// Syncs the directory `dir`, so that files created or renamed in it stay.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `dir/name` atomically: a temporary file in `dir`, synced, renamed over
/// the name, and the directory synced.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_tail_is_dropped_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut bytes = Vec::new();
        frame(b"one", &mut bytes);
        frame(b"two", &mut bytes);
        let whole = bytes.len();
        frame(b"three", &mut bytes);
        bytes.truncate(bytes.len() - 2);
        std::fs::write(&path, &bytes).unwrap();
        let (mut journal, recovered) = Journal::open(&path).unwrap();
        assert_eq!(recovered.records, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(recovered.good_len, whole as u64);
        assert_eq!(recovered.dropped, (bytes.len() - whole) as u64);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole as u64);
        let mut more = Vec::new();
        frame(b"four", &mut more);
        journal.append_sync(&more).unwrap();
        let (_, again) = Journal::open(&path).unwrap();
        assert_eq!(again.records.len(), 3);
        assert_eq!(again.dropped, 0);
    }

    #[test]
    fn a_damaged_record_ends_the_journal() {
        let mut bytes = Vec::new();
        frame(b"one", &mut bytes);
        let first = bytes.len();
        frame(b"two", &mut bytes);
        bytes[first + FRAME] ^= 1;
        let r = parse(&bytes);
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.good_len, first as u64);
    }
}
