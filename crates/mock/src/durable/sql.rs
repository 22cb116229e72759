//! Rows to SQL and back: [`apply`] writes one change (an upsert or a
//! delete per row, the writer batching many into one transaction), [`load`]
//! reads every account's rows when the mock starts. The tables are in
//! `schema.sql`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rafiki_rules::wire::{PaymentAccount, Payout, Wallet};
use rusqlite::{Connection, Transaction, params};
use rust_decimal::Decimal;

use crate::cursor::SortKey;
use crate::store::{
    AccountImage, Change, IdempotencyRow, PaymentAccountRow, PayoutRow, StoredResponse, WalletRow,
};
use crate::webhooks::{
    Applied, DeliveryRow, EndpointRow, Origin, WebhookChange, WebhookFaultRule, WebhookImage,
};

/// One change of one account, as queued for the writer.
pub(super) struct Queued {
    /// The account: the SHA-256 of its API key, in hex.
    pub account: Arc<str>,
    pub item: Item,
}

/// A unit written whole: an account's critical section, or one webhook
/// change made outside one.
pub(super) enum Item {
    Account(Vec<Change>),
    Webhook(WebhookChange),
}

/// Every account's rows, by account.
#[derive(Default)]
pub(super) struct Loaded {
    pub accounts: HashMap<String, AccountImage>,
    pub webhooks: HashMap<String, WebhookImage>,
}

/// A time as nanoseconds since the epoch, saturated at the ends of `i64`
/// (only "never" due times get there).
fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() > 0 {
        i64::MAX
    } else {
        i64::MIN
    })
}

fn time(nanos: i64) -> DateTime<Utc> {
    match nanos {
        i64::MAX => DateTime::<Utc>::MAX_UTC,
        i64::MIN => DateTime::<Utc>::MIN_UTC,
        n => DateTime::from_timestamp_nanos(n),
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Writes `batch` in `tx`, in order, except that of an account's
/// [`Change::Wallets`] only the batch's last is written (every create
/// changes a wallet; the last one holds what all of them did). It comes
/// after the account's last [`Change::Cleared`], which is always followed
/// by the account's wallets in its unit.
pub(super) fn apply(tx: &Transaction<'_>, batch: &[Queued]) -> rusqlite::Result<()> {
    let mut last_wallets: HashMap<&str, (usize, usize)> = HashMap::new();
    for (u, queued) in batch.iter().enumerate() {
        if let Item::Account(unit) = &queued.item {
            for (c, change) in unit.iter().enumerate() {
                if let Change::Wallets(_) = change {
                    last_wallets.insert(&queued.account, (u, c));
                }
            }
        }
    }
    for (u, queued) in batch.iter().enumerate() {
        let account: &str = &queued.account;
        match &queued.item {
            Item::Account(unit) => {
                for (c, change) in unit.iter().enumerate() {
                    let superseded = matches!(change, Change::Wallets(_))
                        && last_wallets.get(account) != Some(&(u, c));
                    if !superseded {
                        apply_account(tx, account, change)?;
                    }
                }
            }
            Item::Webhook(change) => apply_webhook(tx, account, change)?,
        }
    }
    Ok(())
}

fn apply_account(tx: &Transaction<'_>, account: &str, change: &Change) -> rusqlite::Result<()> {
    match change {
        Change::Webhook(change) => return apply_webhook(tx, account, change),
        Change::Wallets(rows) => {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO wallets (account, id, position, currency, balance, available, seed_balance)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (position, row) in rows.iter().enumerate() {
                let w = &row.wallet;
                insert.execute(params![
                    account,
                    w.id,
                    int(position as u64),
                    w.currency,
                    w.balance.to_string(),
                    w.available.to_string(),
                    row.seed_balance.to_string(),
                ])?;
            }
        }
        Change::PaymentAccount(row) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO payment_accounts (account, id, created_at, seq, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                account,
                row.account.id,
                nanos(row.order.0),
                int(row.order.1),
                json(&row.account)?,
            ])?;
        }
        Change::Payout(row) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO payouts (account, id, created_at, seq, body, amount_text, due_at, due_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                account,
                row.payout.id,
                nanos(row.order.0),
                int(row.order.1),
                json(&row.payout)?,
                row.amount_text,
                row.due.map(|d| nanos(d.0)),
                row.due.map(|d| int(d.1)),
            ])?;
        }
        Change::Idempotency(row) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO idempotency (account, key, body, stored_at, status, response)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                account,
                row.key,
                json(&row.body)?,
                nanos(row.stored_at),
                row.response.status.as_u16(),
                row.response.body.as_ref(),
            ])?;
        }
        Change::IdempotencyExpired(key) => {
            tx.prepare_cached("DELETE FROM idempotency WHERE account = ?1 AND key = ?2")?
                .execute(params![account, key])?;
        }
        Change::Cleared { seq } => {
            for table in ["wallets", "payouts", "payment_accounts", "idempotency"] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE account = ?1"))?
                    .execute(params![account])?;
            }
            tx.prepare_cached(
                "INSERT INTO accounts (account, seq) VALUES (?1, ?2)
                 ON CONFLICT (account) DO UPDATE SET seq = excluded.seq",
            )?
            .execute(params![account, int(*seq)])?;
        }
    }
    Ok(())
}

fn apply_webhook(
    tx: &Transaction<'_>,
    account: &str,
    change: &WebhookChange,
) -> rusqlite::Result<()> {
    match change {
        WebhookChange::Endpoint { row, position } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO webhook_endpoints (account, id, position, url, signing_key, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                account,
                row.id,
                int(*position),
                row.url.to_string(),
                row.key.expose(),
                row.origin.as_str(),
            ])?;
        }
        WebhookChange::EndpointRemoved(id) => {
            tx.prepare_cached("DELETE FROM webhook_endpoints WHERE account = ?1 AND id = ?2")?
                .execute(params![account, id])?;
            tx.prepare_cached(
                "DELETE FROM webhook_deliveries WHERE account = ?1 AND endpoint_id = ?2",
            )?
            .execute(params![account, id])?;
        }
        WebhookChange::Delivery(row) => {
            let faults: Vec<(usize, String)> = row
                .faults
                .iter()
                .map(|a| (a.rule, a.fault.to_string()))
                .collect();
            tx.prepare_cached(
                "INSERT OR REPLACE INTO webhook_deliveries
                   (account, endpoint_id, event_id, payout_id, body, attempt, faults, held, due_at, due_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                account,
                row.endpoint_id,
                row.event_id,
                row.payout_id,
                row.body.as_ref(),
                row.attempt,
                json(&faults)?,
                row.held,
                nanos(row.due.0),
                int(row.due.1),
            ])?;
        }
        WebhookChange::DeliveryDone {
            endpoint_id,
            event_id,
        } => {
            tx.prepare_cached(
                "DELETE FROM webhook_deliveries WHERE account = ?1 AND endpoint_id = ?2 AND event_id = ?3",
            )?
            .execute(params![account, endpoint_id, event_id])?;
        }
    }
    Ok(())
}

/// Why a row did not read back: its table, its key and the problem.
fn bad(table: &str, key: &str, why: impl std::fmt::Display) -> String {
    format!("table {table}, row {key}: {why}")
}

fn decimal(table: &str, key: &str, text: &str) -> Result<Decimal, String> {
    text.parse()
        .map_err(|e| bad(table, key, format!("`{text}` is not a decimal ({e})")))
}

fn seq(table: &str, key: &str, n: i64) -> Result<u64, String> {
    u64::try_from(n).map_err(|_| bad(table, key, format!("negative sequence {n}")))
}

/// Reads every account's rows. A row that does not read back is named in
/// the error (the file is corrupt).
pub(super) fn load(conn: &Connection) -> Result<Loaded, String> {
    load_rows(conn).map_err(|e| match e {
        Problem::Sql(e) => e.to_string(),
        Problem::Row(why) => why,
    })
}

enum Problem {
    Sql(rusqlite::Error),
    Row(String),
}

impl From<rusqlite::Error> for Problem {
    fn from(e: rusqlite::Error) -> Self {
        Problem::Sql(e)
    }
}

impl From<String> for Problem {
    fn from(why: String) -> Self {
        Problem::Row(why)
    }
}

fn load_rows(conn: &Connection) -> Result<Loaded, Problem> {
    let mut loaded = Loaded::default();
    let mut accounts = conn.prepare("SELECT account, seq FROM accounts")?;
    let rows = accounts.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (account, n) = row?;
        let listed = AccountImage {
            seq: seq("accounts", &account, n)?,
            ..AccountImage::default()
        };
        loaded.accounts.insert(account, listed);
    }
    // A row's account, which the file must list.
    fn image<'a>(
        loaded: &'a mut Loaded,
        account: &str,
        table: &str,
    ) -> Result<&'a mut AccountImage, Problem> {
        loaded
            .accounts
            .get_mut(account)
            .ok_or_else(|| Problem::Row(bad(table, account, "an account the file does not list")))
    }

    let mut wallets = conn.prepare(
        "SELECT account, id, currency, balance, available, seed_balance FROM wallets
         ORDER BY account, position",
    )?;
    let mut rows = wallets.query([])?;
    while let Some(r) = rows.next()? {
        let (account, id): (String, String) = (r.get(0)?, r.get(1)?);
        let (balance, available, seed): (String, String, String) =
            (r.get(3)?, r.get(4)?, r.get(5)?);
        let row = WalletRow {
            wallet: Wallet {
                currency: r.get(2)?,
                balance: decimal("wallets", &id, &balance)?,
                available: decimal("wallets", &id, &available)?,
                id: id.clone(),
            },
            seed_balance: decimal("wallets", &id, &seed)?,
        };
        image(&mut loaded, &account, "wallets")?.wallets.push(row);
    }

    let mut accounts_rows = conn.prepare(
        "SELECT account, id, created_at, seq, body FROM payment_accounts
         ORDER BY account, created_at, seq",
    )?;
    let mut rows = accounts_rows.query([])?;
    while let Some(r) = rows.next()? {
        let (account, id, created, n, body): (String, String, i64, i64, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let parsed: PaymentAccount =
            serde_json::from_str(&body).map_err(|e| bad("payment_accounts", &id, e))?;
        let order: SortKey = (time(created), seq("payment_accounts", &id, n)?);
        image(&mut loaded, &account, "payment_accounts")?
            .payment_accounts
            .push(PaymentAccountRow {
                account: parsed,
                order,
            });
    }

    let mut payouts = conn.prepare(
        "SELECT account, id, created_at, seq, body, amount_text, due_at, due_seq FROM payouts
         ORDER BY account, created_at, seq",
    )?;
    let mut rows = payouts.query([])?;
    while let Some(r) = rows.next()? {
        let (account, id, created, n, body): (String, String, i64, i64, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let (amount_text, due_at, due_seq): (Option<String>, Option<i64>, Option<i64>) =
            (r.get(5)?, r.get(6)?, r.get(7)?);
        let payout: Payout = serde_json::from_str(&body).map_err(|e| bad("payouts", &id, e))?;
        let due = match (due_at, due_seq) {
            (Some(at), Some(n)) => Some((time(at), seq("payouts", &id, n)?)),
            (None, None) => None,
            _ => {
                return Err(bad(
                    "payouts",
                    &id,
                    "due_at and due_seq must be both set or both null",
                )
                .into());
            }
        };
        let row = PayoutRow {
            payout,
            amount_text,
            order: (time(created), seq("payouts", &id, n)?),
            due,
        };
        image(&mut loaded, &account, "payouts")?.payouts.push(row);
    }

    let mut keys = conn.prepare(
        "SELECT account, key, body, stored_at, status, response FROM idempotency
         ORDER BY account, stored_at",
    )?;
    let mut rows = keys.query([])?;
    while let Some(r) = rows.next()? {
        let (account, key, body, stored_at, status, response): (
            String,
            String,
            String,
            i64,
            u16,
            Vec<u8>,
        ) = (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        );
        let row = IdempotencyRow {
            body: serde_json::from_str(&body).map_err(|e| bad("idempotency", &key, e))?,
            stored_at: time(stored_at),
            response: StoredResponse {
                status: StatusCode::from_u16(status).map_err(|e| bad("idempotency", &key, e))?,
                body: Bytes::from(response),
            },
            key,
        };
        image(&mut loaded, &account, "idempotency")?
            .idempotency
            .push(row);
    }

    let mut endpoints = conn.prepare(
        "SELECT account, id, url, signing_key, origin FROM webhook_endpoints
         ORDER BY account, position",
    )?;
    let mut rows = endpoints.query([])?;
    while let Some(r) = rows.next()? {
        let (account, id, url, key, origin): (String, String, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let row = EndpointRow {
            url: url.parse().map_err(|e| bad("webhook_endpoints", &id, e))?,
            key: key.parse().map_err(|e| bad("webhook_endpoints", &id, e))?,
            origin: Origin::parse(&origin).ok_or_else(|| {
                bad(
                    "webhook_endpoints",
                    &id,
                    format!("unknown origin `{origin}`"),
                )
            })?,
            id,
        };
        loaded
            .webhooks
            .entry(account)
            .or_default()
            .endpoints
            .push(row);
    }

    let mut deliveries = conn.prepare(
        "SELECT account, endpoint_id, event_id, payout_id, body, attempt, faults, held, due_at, due_seq
         FROM webhook_deliveries ORDER BY account, due_at, due_seq",
    )?;
    let mut rows = deliveries.query([])?;
    while let Some(r) = rows.next()? {
        let account: String = r.get(0)?;
        let event_id: String = r.get(2)?;
        let faults: String = r.get(6)?;
        let faults: Vec<(usize, String)> =
            serde_json::from_str(&faults).map_err(|e| bad("webhook_deliveries", &event_id, e))?;
        let faults = faults
            .into_iter()
            .map(|(rule, text)| {
                let fault = text
                    .parse::<WebhookFaultRule>()
                    .map_err(|e| bad("webhook_deliveries", &event_id, e))?
                    .fault();
                Ok(Applied { rule, fault })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let body: Vec<u8> = r.get(4)?;
        let row = DeliveryRow {
            endpoint_id: r.get(1)?,
            payout_id: r.get(3)?,
            body: Bytes::from(body),
            attempt: r.get(5)?,
            faults,
            held: r.get(7)?,
            due: (
                time(r.get(8)?),
                seq("webhook_deliveries", &event_id, r.get(9)?)?,
            ),
            event_id,
        };
        loaded
            .webhooks
            .entry(account)
            .or_default()
            .deliveries
            .push(row);
    }
    Ok(loaded)
}
