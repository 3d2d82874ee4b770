//! Reading a local file that should be a small regular file (a module, a manifest, a script),
//! without trusting what its name points at: a symlink to `/dev/zero` reports length 0 and
//! never ends, a FIFO blocks `open` until a writer comes, and `metadata().len()` can change
//! between the look and the read. So: open without blocking, check the opened file (not the
//! name) is regular, and read at most `max + 1` bytes whatever its length said.

use std::fs::File;
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("not a regular file (it is a {0})")]
    NotRegular(&'static str),
    #[error("larger than {max} bytes")]
    TooLarge { max: u64, size: Option<u64> },
}

/// Opens `path` for reading and returns it with its length, refusing anything but a regular
/// file (devices, FIFOs, sockets and directories, also behind a symlink).
pub fn open_regular(path: &Path) -> Result<(File, u64), ReadError> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(&meta.file_type())));
    }
    Ok((file, meta.len()))
}

/// The whole of a regular file of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let (file, len) = open_regular(path)?;
    if len > max {
        return Err(ReadError::TooLarge {
            max,
            size: Some(len),
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // One byte more than allowed tells a file that grew (or lied about its length) apart.
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge { max, size: None });
    }
    Ok(bytes)
}

/// A regular file of at most `max` bytes as UTF-8 text.
pub fn read_text(path: &Path, max: u64) -> Result<String, ReadError> {
    String::from_utf8(read_regular(path, max)?).map_err(|_| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer; it changes
    // nothing for a regular file. O_NOCTTY: a terminal device never becomes ours.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_directories_are_refused_before_any_read() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.bin");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        for (path, kind) in [
            (zero.as_path(), "character device"),
            (fifo.as_path(), "FIFO"),
            (dir.path(), "directory"),
        ] {
            let e = read_regular(path, 1024).unwrap_err();
            assert!(e.to_string().contains(kind), "{path:?}: {e}");
        }
    }

    #[test]
    fn a_file_over_the_limit_is_refused_and_one_at_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, [7u8; 100]).unwrap();
        assert_eq!(read_regular(&f, 100).unwrap().len(), 100);
        assert!(matches!(
            read_regular(&f, 99),
            Err(ReadError::TooLarge { max: 99, .. })
        ));
    }
}
