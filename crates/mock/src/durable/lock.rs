//! One mock per state file: an exclusive `flock(2)` on the file itself,
//! taken before anything reads it and held as long as the mock runs. The
//! kernel drops it when the process ends, however it ends (a SIGKILL
//! leaves no stale lock to clean up). Who holds it is read from
//! `/proc/locks` (Linux), so a refusal can name the other process.
//!
//! SQLite's own exclusive lock (`locking_mode=EXCLUSIVE`) guards the file
//! against other programs; this one is what two mocks meet. It is a
//! separate kind of lock (BSD, not POSIX), so closing a descriptor of the
//! file elsewhere in the process never releases it. (POSIX locks,
//! SQLite's among them, go with any close of the file in the process: a
//! second mock refused in the same process drops SQLite's lock of the
//! first, never this one.)

use std::fs::File;
use std::io;
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;

/// Elsewhere than Unix only SQLite's own exclusive lock guards the file.
#[cfg(not(unix))]
pub(super) fn try_lock(_file: &File) -> io::Result<Result<(), Option<u32>>> {
    Ok(Ok(()))
}

/// Takes the lock on `file`, or says who holds it (`Err(Some(pid))`,
/// `Err(None)` when that cannot be told); other failures are I/O errors.
#[cfg(unix)]
pub(super) fn try_lock(file: &File) -> io::Result<Result<(), Option<u32>>> {
    // SAFETY: flock on a descriptor we own, valid for the call.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if taken == 0 {
        return Ok(Ok(()));
    }
    let error = io::Error::last_os_error();
    if error.kind() != io::ErrorKind::WouldBlock {
        return Err(error);
    }
    Ok(Err(holder(file)))
}

/// The pid holding a `flock` on `file`, from `/proc/locks`.
#[cfg(unix)]
fn holder(file: &File) -> Option<u32> {
    let metadata = file.metadata().ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    holder_in(&locks, metadata.dev(), metadata.ino())
}

/// In `/proc/locks` text (`1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF`,
/// device numbers in hex), the pid of a granted `FLOCK` on the inode `ino`
/// of device `dev` (waiters' lines, `1: -> FLOCK ...`, are skipped).
#[cfg(unix)]
fn holder_in(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, "FLOCK", _, _, pid, file, ..] = fields.as_slice() else {
            return None;
        };
        let mut parts = file.split(':');
        let (Some(maj), Some(min), Some(inode)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let matches = u32::from_str_radix(maj, 16).ok()? == major
            && u32::from_str_radix(min, 16).ok()? == minor
            && inode.parse::<u64>().ok()? == ino;
        matches.then(|| pid.parse().ok()).flatten()
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_read_from_proc_locks() {
        let dev = libc::makedev(0xfd, 0x01);
        let text = "1: POSIX  ADVISORY  WRITE 11 fd:01:77 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 4242 fd:01:77 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 5151 fd:01:77 0 EOF\n\
                    3: FLOCK  ADVISORY  WRITE 99 fd:02:77 0 EOF\n";
        assert_eq!(holder_in(text, dev, 77), Some(4242));
        assert_eq!(holder_in(text, dev, 78), None);
        assert_eq!(holder_in(text, libc::makedev(0xfd, 0x02), 77), Some(99));
    }

    #[test]
    fn a_second_lock_on_the_file_is_refused_and_names_this_process() {
        let dir = std::env::temp_dir().join(format!("rafiki-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.db");
        let first = File::create(&path).unwrap();
        assert_eq!(try_lock(&first).unwrap(), Ok(()));
        let second = File::open(&path).unwrap();
        let refused = try_lock(&second).unwrap();
        assert!(refused.is_err());
        if std::path::Path::new("/proc/locks").exists() {
            assert_eq!(refused, Err(Some(std::process::id())));
        }
        drop(first);
        assert_eq!(try_lock(&second).unwrap(), Ok(()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
