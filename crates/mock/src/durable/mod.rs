//! The state file (`rafiki-mock --state FILE`, [`crate::Config::state_file`]):
//! the whole state of every account in an embedded SQLite database, so that
//! a team's long-lived sandbox survives a restart or a crash.
//!
//! Design: **row per entity, written through**. Reads are served from
//! memory as without a file; every change of a row (a wallet, a payment
//! account, a payout, an idempotency record with its stored answer, a
//! webhook endpoint, a delivery not yet done) is handed, inside the
//! critical section that makes it, to a group-commit writer
//! ([`writer`]) as an upsert or a delete. Before any answer leaves, the
//! server waits until every change queued so far is committed and synced
//! ([`crate::commit`]); so does every webhook attempt. Concurrent requests
//! share one transaction and one sync.
//!
//! On start the file's rows are loaded into memory ([`sql::load`]) and the
//! accounts rebuilt from them: the scheduler's queue comes back with each
//! payout's due time (so payouts due while the mock was down settle at
//! once, on the mock's clock), and so do the deliveries not yet done.
//!
//! What is not kept: API keys (accounts come from the configuration; the
//! file names each by the SHA-256 of its key), fault plans, the request
//! and deliveries journals, rate limits, and requests in flight (none was
//! answered). Webhook signing keys are kept (deliveries must stay
//! verifiable) and never logged.
//!
//! A file is refused, with one line and untouched, when it is not ours,
//! is corrupt, was written by a newer version, or is held by another mock
//! ([`StateError`]).

mod lock;
pub(crate) mod migrate;
mod sql;
mod writer;

use std::fs::{File, OpenOptions};
use std::io;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::commit::{CommitGate, LastTicket};
use crate::store::{AccountImage, Persistence, Restored};
use crate::webhooks::WebhookImage;
use migrate::{APPLICATION_ID, MigrateError, SCHEMA_VERSION};
use writer::{AccountSink, Writer};

/// What every SQLite database file starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Why a state file was refused. Each reads as one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state file {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the state file {path} is in use by another rafiki-mock{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, pid: Option<u32> },
    #[error("{path} is not a rafiki-mock state file: {why}")]
    NotOurs { path: PathBuf, why: String },
    #[error(
        "the state file {path} was written by a newer rafiki-mock (schema version {found}; this one reads up to {SCHEMA_VERSION})"
    )]
    Newer { path: PathBuf, found: u32 },
    #[error("the state file {path} is corrupt: {why}")]
    Corrupt { path: PathBuf, why: String },
    #[error("cannot use the state file {path}: {why}")]
    Sqlite { path: PathBuf, why: String },
}

/// An open state file: what it held when opened, and its writer.
pub(crate) struct StateFile {
    loaded: Mutex<sql::Loaded>,
    writer: Arc<Writer>,
    gate: Arc<CommitGate>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How the file's header reads, before SQLite opens it.
enum Header {
    /// An empty file, or a database nothing was ever created in.
    Empty,
    Ours,
}

/// The name of an account in the file.
fn account_name(api_key: &str) -> String {
    hex::encode(Sha256::digest(api_key.as_bytes()))
}

/// Opens (or creates) the state file at `path`, takes its lock, checks it
/// is ours and whole, brings its schema up to date and reads it.
pub(crate) fn open(path: &Path) -> Result<StateFile, StateError> {
    let path_buf = path.to_path_buf();
    let io_error = |source| StateError::Open {
        path: path_buf.clone(),
        source,
    };
    // Opening for writing changes no byte; the lock comes before any read.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_error)?;
    if let Err(pid) = lock::try_lock(&file).map_err(io_error)? {
        return Err(StateError::Locked {
            path: path_buf,
            pid,
        });
    }
    let header = read_header(&file, path)?;
    let conn = connect(path, header)?;
    let loaded = sql::load(&conn).map_err(|why| StateError::Corrupt {
        path: path_buf.clone(),
        why: one_line(&why),
    })?;
    let gate = Arc::new(CommitGate::default());
    let (writer, thread) = Writer::start(conn, file, gate.clone()).map_err(io_error)?;
    Ok(StateFile {
        loaded: Mutex::new(loaded),
        writer,
        gate,
        thread: Mutex::new(Some(thread)),
    })
}

/// Judges the file by its first 100 bytes (SQLite's header) without
/// SQLite, so that a file that is not ours is never handed to it.
fn read_header(file: &File, path: &Path) -> Result<Header, StateError> {
    let not_ours = |why: String| StateError::NotOurs {
        path: path.to_path_buf(),
        why,
    };
    let len = file
        .metadata()
        .map_err(|source| StateError::Open {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if len == 0 {
        return Ok(Header::Empty);
    }
    let mut header = [0u8; 100];
    if len < header.len() as u64 {
        return Err(not_ours(format!(
            "it is not an SQLite database ({len} bytes, shorter than a database header)"
        )));
    }
    let mut reader = file;
    reader
        .seek(SeekFrom::Start(0))
        .and_then(|_| reader.read_exact(&mut header))
        .map_err(|source| StateError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    if &header[..16] != SQLITE_MAGIC {
        return Err(not_ours(
            "it is not an SQLite database (it does not start with \"SQLite format 3\")".into(),
        ));
    }
    let word = |at: usize| u32::from_be_bytes(header[at..at + 4].try_into().expect("4 bytes"));
    let (schema_cookie, user_version, application_id) = (word(40), word(60), word(68));
    if application_id == 0 && schema_cookie == 0 {
        return Ok(Header::Empty);
    }
    if application_id != APPLICATION_ID {
        return Err(not_ours(format!(
            "it is an SQLite database of another application (application_id {application_id:#010x}; rafiki-mock's is {APPLICATION_ID:#010x})"
        )));
    }
    if user_version > SCHEMA_VERSION {
        return Err(StateError::Newer {
            path: path.to_path_buf(),
            found: user_version,
        });
    }
    Ok(Header::Ours)
}

/// Opens the database, checks it (nothing is written until it passes, and
/// a refused file is not even checkpointed on close), migrates it and sets
/// it up for writing.
fn connect(path: &Path, header: Header) -> Result<Connection, StateError> {
    let corrupt = |why: String| StateError::Corrupt {
        path: path.to_path_buf(),
        why: one_line(&why),
    };
    let sqlite = |e: rusqlite::Error| StateError::Sqlite {
        path: path.to_path_buf(),
        why: e.to_string(),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(sqlite)?;
    // Before the first read: no `-shm` file, and no other program can open
    // the database while we hold it.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(sqlite)?;
    if let Header::Ours = header {
        // The header said ours; the WAL, if one is left over, may say more.
        let found = migrate::version(&conn).map_err(|e| corrupt(e.to_string()))?;
        if found > SCHEMA_VERSION {
            return Err(StateError::Newer {
                path: path.to_path_buf(),
                found,
            });
        }
        let check: String = conn
            .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        if check != "ok" {
            return Err(corrupt(check));
        }
    }
    migrate::migrate(&mut conn).map_err(|e| match e {
        MigrateError::Newer { found } => StateError::Newer {
            path: path.to_path_buf(),
            found,
        },
        other => sqlite_error(path, other),
    })?;
    // WAL: a commit appends to the log. synchronous=FULL syncs the log at
    // every commit, so an acknowledged change survives a power cut, not
    // only a crash of the process (NORMAL would sync only at checkpoints);
    // the group commit pays one sync per batch, not per request.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(sqlite)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StateError::Sqlite {
            path: path.to_path_buf(),
            why: format!("the database stays in journal mode {mode}, not WAL"),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
        .map_err(sqlite)?;
    Ok(conn)
}

/// SQLite's integrity report on one line: `*** in database main ***`
/// dropped, its lines joined.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("***"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn sqlite_error(path: &Path, error: MigrateError) -> StateError {
    StateError::Sqlite {
        path: path.to_path_buf(),
        why: error.to_string(),
    }
}

impl StateFile {
    /// Writes what is queued, closes the database and releases the lock,
    /// waiting for all of it.
    pub(crate) fn close(&self) {
        self.writer.stop();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the state file's writer panicked");
        }
    }

    /// Lets the writer finish on its own (the file is closed when it has).
    pub(crate) fn stop(&self) {
        self.writer.stop();
    }
}

impl Persistence for StateFile {
    fn restore(&self, api_key: &str) -> Restored {
        let name = account_name(api_key);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let image: Option<AccountImage> = loaded.accounts.remove(&name);
        let webhooks: WebhookImage = loaded.webhooks.remove(&name).unwrap_or_default();
        let last_ticket = Arc::new(LastTicket::default());
        let sink = Arc::new(AccountSink {
            account: name.into(),
            writer: self.writer.clone(),
            last: last_ticket.clone(),
        });
        Restored {
            image,
            webhooks,
            sink: sink.clone(),
            webhook_sink: sink,
            last_ticket,
        }
    }

    fn gate(&self) -> Arc<CommitGate> {
        self.gate.clone()
    }
}

/// How many accounts a file holds that the configuration did not ask for
/// (kept as they are).
pub(crate) fn unclaimed(file: &StateFile) -> usize {
    file.loaded
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .accounts
        .len()
}
