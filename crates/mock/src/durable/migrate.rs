//! The state file's schema and its versions. A file says which version it
//! holds in `PRAGMA user_version` and that it is ours in `PRAGMA
//! application_id`. [`STEPS`] lists the SQL that takes a file from one
//! version to the next (`STEPS[0]`: empty to 1); opening an older file runs
//! the missing steps, each in its own transaction with the version it
//! reaches, so a crash mid-way leaves a file at some whole version. A file
//! of a newer version is refused before anything is written.

use rusqlite::Connection;

/// `PRAGMA application_id` of a rafiki-mock state file: "RFKM".
pub const APPLICATION_ID: u32 = u32::from_be_bytes(*b"RFKM");

/// The steps, in order: `STEPS[n]` takes version `n` to `n + 1`.
pub const STEPS: &[&str] = &[include_str!("schema.sql")];

/// The version this build writes and reads.
pub const SCHEMA_VERSION: u32 = STEPS.len() as u32;

/// Why a file's schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "it was written by a newer rafiki-mock (schema version {found}; this one reads up to {SCHEMA_VERSION})"
    )]
    Newer { found: u32 },
    #[error("taking the schema from version {from} to {to}: {source}")]
    Step {
        from: u32,
        to: u32,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The file's version.
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings `conn`'s file to [`SCHEMA_VERSION`] with [`STEPS`].
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    migrate_with(conn, STEPS)
}

/// Brings `conn`'s file to version `steps.len()` (tests give more steps
/// than this build has).
pub fn migrate_with(conn: &mut Connection, steps: &[&str]) -> Result<(), MigrateError> {
    let found = version(conn)?;
    let target = u32::try_from(steps.len()).unwrap_or(u32::MAX);
    if found > target {
        return Err(MigrateError::Newer { found });
    }
    for (from, step) in (found..target).zip(&steps[found as usize..]) {
        let to = from + 1;
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute_batch(step)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", to)?;
            tx.commit()
        };
        run(conn).map_err(|source| MigrateError::Step { from, to, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gets_the_schema_and_an_older_one_the_missing_steps() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let id: u32 = conn
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        conn.execute("INSERT INTO accounts (account, seq) VALUES ('a', 7)", [])
            .unwrap();
        // A later build's step: the version-1 rows are still there after it.
        let next = [STEPS[0], "ALTER TABLE accounts ADD COLUMN note TEXT"];
        migrate_with(&mut conn, &next).unwrap();
        assert_eq!(version(&conn).unwrap(), 2);
        let (seq, note): (i64, Option<String>) = conn
            .query_row(
                "SELECT seq, note FROM accounts WHERE account = 'a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((seq, note), (7, None));
        // And this build refuses the version-2 file.
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrateError::Newer { found: 2 })
        ));
    }

    #[test]
    fn a_failed_step_leaves_the_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let broken = [STEPS[0], "CREATE TABLE x (a); SELECT * FROM no_such_table"];
        let error = migrate_with(&mut conn, &broken).unwrap_err();
        assert!(
            matches!(error, MigrateError::Step { from: 1, to: 2, .. }),
            "{error}"
        );
        assert_eq!(version(&conn).unwrap(), 1);
        let tables: u32 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'x'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the step's first statement was rolled back");
    }
}
