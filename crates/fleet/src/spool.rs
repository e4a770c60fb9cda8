//! The sensor's spool: messages NATS did not take wait here, in order, in a bounded
//! append-only file, until they can be published again; a sensor that stops keeps
//! them for its next run.
//!
//! Records are `[len u32 LE][crc32 u32 LE][body]`, body
//! `[subject len u16 LE][subject][id len u16 LE][id][payload]`. How far replay got is
//! kept beside it in `FILE.pos` (8 bytes LE, replaced by rename); once everything is
//! replayed both are emptied. A record cut short at the end (the process died while
//! writing it) is dropped at open: it was never confirmed to anyone. A record that
//! fails its checksum before the end is an error naming the file and offset.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::schema::Outgoing;

const HEADER: u64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: spool full ({max} bytes); waiting for NATS to take its messages")]
    Full { path: String, max: u64 },
    #[error("{path}: offset {offset}: {why}")]
    Corrupt {
        path: String,
        offset: u64,
        why: String,
    },
}

/// A bounded file of messages waiting to be published.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    pos_path: PathBuf,
    file: File,
    /// Bytes in the file.
    len: u64,
    /// Offset of the first record not yet replayed.
    pos: u64,
    /// Records from `pos` to the end.
    pending: u64,
    max_bytes: u64,
}

impl Spool {
    /// Opens (creating) the spool at `path`, holding at most `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        let mut pos_path = path.as_os_str().to_owned();
        pos_path.push(".pos");
        let pos_path = PathBuf::from(pos_path);
        let io = |source| SpoolError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let pos = match std::fs::read(&pos_path) {
            Ok(b) if b.len() == 8 => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])).min(len),
            Ok(_) => 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                return Err(SpoolError::Io {
                    path: pos_path.display().to_string(),
                    source: e,
                });
            }
        };
        let mut spool = Spool {
            path: path.to_owned(),
            pos_path,
            file,
            len,
            pos,
            pending: 0,
            max_bytes,
        };
        spool.scan()?;
        Ok(spool)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Messages waiting.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Bytes the file holds.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    fn io(&self, source: std::io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Counts the records from `pos`, cutting off a torn last one.
    fn scan(&mut self) -> Result<(), SpoolError> {
        let mut at = self.pos;
        let mut pending = 0;
        let mut reader = File::open(&self.path).map_err(|e| self.io(e))?;
        reader.seek(SeekFrom::Start(at)).map_err(|e| self.io(e))?;
        let mut reader = std::io::BufReader::new(reader);
        loop {
            match read_record(&mut reader) {
                Ok(Some((_, size))) => {
                    at += size;
                    pending += 1;
                }
                Ok(None) => break,
                Err(Torn::Short) => {
                    self.file.set_len(at).map_err(|e| self.io(e))?;
                    self.len = at;
                    break;
                }
                Err(Torn::Checksum(size)) if at + size >= self.len => {
                    // The last record, written only in part before the process
                    // stopped (its tail is whatever the file system left).
                    self.file.set_len(at).map_err(|e| self.io(e))?;
                    self.len = at;
                    break;
                }
                Err(Torn::Checksum(_)) => {
                    return Err(SpoolError::Corrupt {
                        path: self.path.display().to_string(),
                        offset: at,
                        why: "record checksum mismatch".into(),
                    });
                }
                Err(Torn::Io(e)) => return Err(self.io(e)),
                Err(Torn::Bad(why)) => {
                    return Err(SpoolError::Corrupt {
                        path: self.path.display().to_string(),
                        offset: at,
                        why,
                    });
                }
            }
        }
        self.pending = pending;
        Ok(())
    }

    /// Appends messages, in order, and syncs them to disk; all or none. When they do
    /// not fit, replayed records are compacted away first; still full is `Full`.
    pub fn push(&mut self, msgs: &[Outgoing]) -> Result<(), SpoolError> {
        let mut buf = Vec::new();
        for m in msgs {
            encode(m, &mut buf);
        }
        if self.len + buf.len() as u64 > self.max_bytes && self.pos > 0 {
            self.compact()?;
        }
        if self.len + buf.len() as u64 > self.max_bytes {
            return Err(SpoolError::Full {
                path: self.path.display().to_string(),
                max: self.max_bytes,
            });
        }
        self.file.write_all(&buf).map_err(|e| self.io(e))?;
        self.file.sync_data().map_err(|e| self.io(e))?;
        self.len += buf.len() as u64;
        self.pending += msgs.len() as u64;
        Ok(())
    }

    /// Up to `n` waiting messages from the front, with the offset after each.
    pub fn peek(&self, n: usize) -> Result<Vec<(Outgoing, u64)>, SpoolError> {
        let mut reader = File::open(&self.path).map_err(|e| self.io(e))?;
        reader
            .seek(SeekFrom::Start(self.pos))
            .map_err(|e| self.io(e))?;
        let mut reader = std::io::BufReader::new(reader);
        let mut at = self.pos;
        let mut out = Vec::new();
        while out.len() < n && at < self.len {
            match read_record(&mut reader) {
                Ok(Some((m, size))) => {
                    at += size;
                    out.push((m, at));
                }
                Ok(None) => break,
                Err(Torn::Io(e)) => return Err(self.io(e)),
                Err(_) => {
                    return Err(SpoolError::Corrupt {
                        path: self.path.display().to_string(),
                        offset: at,
                        why: "record changed since it was written".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Marks everything before `to` (an offset [`Spool::peek`] gave) as published.
    pub fn advance(&mut self, to: u64, records: u64) -> Result<(), SpoolError> {
        self.pos = to.min(self.len);
        self.pending = self.pending.saturating_sub(records);
        if self.pos == self.len {
            self.file.set_len(0).map_err(|e| self.io(e))?;
            self.len = 0;
            self.pos = 0;
            self.pending = 0;
            match std::fs::remove_file(&self.pos_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io(e)),
            }
            return Ok(());
        }
        self.save_pos()
    }

    fn save_pos(&self) -> Result<(), SpoolError> {
        let mut tmp = self.pos_path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, self.pos.to_le_bytes()).map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.pos_path).map_err(|e| self.io(e))
    }

    /// Rewrites the file without its replayed records.
    fn compact(&mut self) -> Result<(), SpoolError> {
        let mut rest = Vec::new();
        let mut reader = File::open(&self.path).map_err(|e| self.io(e))?;
        reader
            .seek(SeekFrom::Start(self.pos))
            .map_err(|e| self.io(e))?;
        reader.read_to_end(&mut rest).map_err(|e| self.io(e))?;
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = File::create(&tmp).map_err(|e| self.io(e))?;
        f.write_all(&rest).map_err(|e| self.io(e))?;
        f.sync_data().map_err(|e| self.io(e))?;
        // The position goes first: were we to stop between the two renames, a zero
        // position over the old file replays records already published, which the
        // central store de-duplicates; the other order would skip records.
        self.pos = 0;
        self.save_pos()?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        self.len = rest.len() as u64;
        Ok(())
    }
}

enum Torn {
    /// The file ends inside the record.
    Short,
    /// A bad checksum on a record of this size on disk.
    Checksum(u64),
    Bad(String),
    Io(std::io::Error),
}

fn encode(m: &Outgoing, buf: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(4 + m.subject.len() + m.id.len() + m.body.len());
    for field in [m.subject.as_bytes(), m.id.as_bytes()] {
        // Subjects and ids are ours and short (a sensor name is at most 64 bytes).
        body.extend_from_slice(&(field.len().min(u16::MAX as usize) as u16).to_le_bytes());
        body.extend_from_slice(&field[..field.len().min(u16::MAX as usize)]);
    }
    body.extend_from_slice(&m.body);
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    buf.extend_from_slice(&body);
}

/// The next record and its size on disk; `None` at a clean end.
fn read_record(r: &mut impl Read) -> Result<Option<(Outgoing, u64)>, Torn> {
    let mut header = [0u8; HEADER as usize];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(Torn::Short),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Torn::Io(e)),
        }
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let mut body = Vec::new();
    let read = r
        .take(len as u64)
        .read_to_end(&mut body)
        .map_err(Torn::Io)?;
    if read < len {
        return Err(Torn::Short);
    }
    if crc32fast::hash(&body) != crc {
        return Err(Torn::Checksum(HEADER + len as u64));
    }
    let mut at = 0usize;
    let field = |at: &mut usize| -> Result<String, Torn> {
        let n = body
            .get(*at..*at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| Torn::Bad("record too short".into()))?;
        let s = body
            .get(*at + 2..*at + 2 + n)
            .ok_or_else(|| Torn::Bad("record too short".into()))?;
        *at += 2 + n;
        String::from_utf8(s.to_vec()).map_err(|_| Torn::Bad("subject or id is not UTF-8".into()))
    };
    let subject = field(&mut at)?;
    let id = field(&mut at)?;
    let payload = body[at..].to_vec();
    Ok(Some((
        Outgoing {
            subject,
            id,
            body: payload,
        },
        HEADER + len as u64,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: u32) -> Outgoing {
        Outgoing {
            subject: "pumpguard.v1.s.flows".into(),
            id: format!("s.r.{i}"),
            body: format!("{{\"n\":{i}}}").into_bytes(),
        }
    }

    #[test]
    fn messages_come_back_in_order_across_reopens_and_the_file_empties() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.spool");
        let mut s = Spool::open(&path, 1 << 20).unwrap();
        s.push(&[msg(1), msg(2), msg(3)]).unwrap();
        drop(s);
        let mut s = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(s.pending(), 3);
        let first = s.peek(2).unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].0, msg(1));
        assert_eq!(first[1].0, msg(2));
        s.advance(first[1].1, 2).unwrap();
        drop(s);
        let mut s = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(s.pending(), 1);
        s.push(&[msg(4)]).unwrap();
        let rest = s.peek(10).unwrap();
        assert_eq!(
            rest.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>(),
            vec![msg(3), msg(4)]
        );
        s.advance(rest[1].1, 2).unwrap();
        assert!(s.is_empty());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_a_corrupt_middle_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.spool");
        let mut s = Spool::open(&path, 1 << 20).unwrap();
        s.push(&[msg(1), msg(2)]).unwrap();
        let full = std::fs::read(&path).unwrap();
        drop(s);
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        let s = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(s.pending(), 1);
        assert_eq!(s.peek(5).unwrap()[0].0, msg(1));
        drop(s);
        let mut bad = full.clone();
        bad[10] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        let e = Spool::open(&path, 1 << 20).unwrap_err().to_string();
        assert!(
            e.contains("s.spool: offset 0: record checksum mismatch"),
            "{e}"
        );
    }

    #[test]
    fn a_full_spool_refuses_then_compacts_what_was_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.spool");
        let one = {
            let mut b = Vec::new();
            encode(&msg(1), &mut b);
            b.len() as u64
        };
        let mut s = Spool::open(&path, one * 3).unwrap();
        s.push(&[msg(1), msg(2), msg(3)]).unwrap();
        assert!(matches!(s.push(&[msg(4)]), Err(SpoolError::Full { .. })));
        let front = s.peek(2).unwrap();
        s.advance(front[1].1, 2).unwrap();
        s.push(&[msg(4), msg(5)]).unwrap();
        assert_eq!(s.bytes(), one * 3);
        drop(s);
        let s = Spool::open(&path, one * 3).unwrap();
        let all: Vec<Outgoing> = s.peek(10).unwrap().into_iter().map(|(m, _)| m).collect();
        assert_eq!(all, vec![msg(3), msg(4), msg(5)]);
    }
}
