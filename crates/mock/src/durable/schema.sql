-- rafiki-mock's state file, schema version 1: the step from an empty
-- database (user_version 0) to version 1. Later versions add steps of
-- their own beside it (crate::durable::migrate); this one never changes.
--
-- An account is the SHA-256 of its API key in hex: the file never holds
-- a key (keys come from the configuration). Times are nanoseconds since
-- the Unix epoch (saturated at the ends of i64), amounts decimal text.

CREATE TABLE accounts (
    account TEXT PRIMARY KEY,
    -- The account's sequence: list order keys stay below it.
    seq INTEGER NOT NULL
) STRICT;

CREATE TABLE wallets (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    position INTEGER NOT NULL,
    currency TEXT NOT NULL,
    balance TEXT NOT NULL,
    available TEXT NOT NULL,
    -- What a reset gives back.
    seed_balance TEXT NOT NULL,
    PRIMARY KEY (account, id)
) STRICT;

CREATE TABLE payment_accounts (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    -- The payment account as GET /v1/payment-accounts shows it (JSON).
    body TEXT NOT NULL,
    PRIMARY KEY (account, id)
) STRICT;

CREATE TABLE payouts (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    -- The payout (JSON, amount.value as the number has it).
    body TEXT NOT NULL,
    -- amount.value as sent, when lenient amounts kept another text.
    amount_text TEXT,
    -- While the scheduler has it queued: when it is due (both or neither).
    due_at INTEGER,
    due_seq INTEGER,
    PRIMARY KEY (account, id)
) STRICT;

CREATE TABLE idempotency (
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    -- The request body (JSON) the key was first used with.
    body TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    -- The answer replayed, byte for byte.
    status INTEGER NOT NULL,
    response BLOB NOT NULL,
    PRIMARY KEY (account, key)
) STRICT;

CREATE TABLE webhook_endpoints (
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    -- A secret: deliveries after a restart are signed with it.
    signing_key TEXT NOT NULL,
    -- 'config' (--webhook-url) or 'control_api'.
    origin TEXT NOT NULL,
    PRIMARY KEY (account, id)
) STRICT;

CREATE TABLE webhook_deliveries (
    account TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payout_id TEXT NOT NULL,
    -- The event's bytes, the same in every attempt.
    body BLOB NOT NULL,
    -- The next attempt, from 1.
    attempt INTEGER NOT NULL,
    -- The faults drawn for it, JSON [[rule index, "fault"], ...].
    faults TEXT NOT NULL,
    held INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    due_seq INTEGER NOT NULL,
    PRIMARY KEY (account, endpoint_id, event_id)
) STRICT;
