-- Security: audit trail, My Number vault, second factor, retention. Keep in step with
-- migrations/postgres/0002_security.sql.

-- Append-only audit trail. No foreign keys: it must survive deletion of what it refers to.
-- Each entry carries the hash of the previous one (hash chain); `furusato audit verify` checks it.
CREATE TABLE audit_log (
    seq              INTEGER PRIMARY KEY,           -- 1, 2, 3 … assigned under the audit_head lock
    id               BLOB NOT NULL UNIQUE,
    municipality_id  BLOB,                          -- NULL for install-wide events
    at               TEXT NOT NULL,
    user_id          BLOB,
    user_login       TEXT NOT NULL,                 -- kept as text: survives user deletion
    role             TEXT NOT NULL,
    ip               TEXT NOT NULL DEFAULT '',
    action           TEXT NOT NULL,                 -- e.g. donor.view, donation.update, export.donations
    target_kind      TEXT NOT NULL DEFAULT '',
    target_id        TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',      -- typed by the user for reveals and exports
    detail           TEXT NOT NULL DEFAULT '{}',    -- JSON; never personal data values
    prev_hash        BLOB NOT NULL,
    hash             BLOB NOT NULL
);
CREATE INDEX audit_log_muni_at ON audit_log (municipality_id, at);
CREATE INDEX audit_log_user ON audit_log (user_login, at);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id);
CREATE INDEX audit_log_action ON audit_log (action, at);

-- The head of the chain: one row, updated in the same transaction as each append. Its row lock
-- serialises appenders on PostgreSQL; SQLite serialises writers anyway.
CREATE TABLE audit_head (
    id               INTEGER PRIMARY KEY,
    seq              INTEGER NOT NULL,
    hash             BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, X'0000000000000000000000000000000000000000000000000000000000000000');

-- Encrypted secrets (個人番号 …): AES-256-GCM, row id bound as associated data, key id in the blob.
CREATE TABLE vault_entries (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    purpose          TEXT NOT NULL,                 -- my_number | id_document | …
    owner_kind       TEXT NOT NULL,                 -- donor | onestop_application | …
    owner_id         BLOB NOT NULL,
    key_id           TEXT NOT NULL,
    sealed           BLOB NOT NULL,
    blind_index      BLOB,                          -- HMAC-SHA256 for exact lookup, NULL for files
    last4            TEXT NOT NULL DEFAULT '',      -- shown masked as ****-****-1234
    synthetic        BOOLEAN NOT NULL DEFAULT 0,    -- generated test data, never a real number
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (owner_kind, owner_id, purpose)
);
CREATE INDEX vault_entries_bidx ON vault_entries (municipality_id, purpose, blind_index);
CREATE INDEX vault_entries_key ON vault_entries (key_id);

-- One-time recovery codes for the second factor (SHA-256 of 50-bit random codes).
CREATE TABLE recovery_codes (
    id               BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash        TEXT NOT NULL,
    used_at          TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- How long each class of data is kept (days after the reference date of the class).
CREATE TABLE retention_policies (
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    data_class       TEXT NOT NULL,
    keep_days        INTEGER NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (municipality_id, data_class)
);

-- データ消去報告書: what was erased, how many, how, when, by whom.
CREATE TABLE erasure_reports (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    executed_at      TEXT NOT NULL,
    executed_by      TEXT NOT NULL,
    summary          TEXT NOT NULL,                 -- JSON
    created_at       TEXT NOT NULL
);
