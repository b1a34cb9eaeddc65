-- Intake: portal sync, CSV imports, payments, donor matching, jobs. Keep in step with
-- migrations/sqlite/0003_intake.sql.

-- Every version of every source record as received (楽天 order JSON, CSV row), compressed.
-- The ledger tables hold the current interpretation; this is the evidence.
CREATE TABLE source_records (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    source           TEXT NOT NULL,                 -- rakuten | csv:choice | csv:redhorse | csv:<profile> | manual
    external_id      TEXT NOT NULL,
    version          BIGINT NOT NULL,              -- 1, 2, … per (source, external_id)
    content_hash     BYTEA NOT NULL,                 -- SHA-256 of the raw bytes (unchanged → no new version)
    raw_deflate      BYTEA NOT NULL,                -- raw JSON / row, deflate-compressed
    donation_id      UUID,
    donor_id         UUID,
    import_id        UUID,
    sync_run_id      UUID,
    received_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (municipality_id, source, external_id, version)
);
CREATE INDEX source_records_donation ON source_records (donation_id);
CREATE INDEX source_records_donor ON source_records (donor_id);

-- What changed in a donation and why (sync updates, cancellations, manual corrections).
CREATE TABLE donation_changes (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    donation_id      UUID NOT NULL REFERENCES donations(id) ON DELETE CASCADE,
    at               TIMESTAMPTZ NOT NULL,
    source           TEXT NOT NULL,                 -- rakuten | csv:… | manual | payments
    actor            TEXT NOT NULL DEFAULT '',      -- login or 'sync'
    summary          TEXT NOT NULL,                 -- Japanese one-liner for the screen
    fields           TEXT NOT NULL DEFAULT '{}'     -- JSON {field: [old, new]}
);
CREATE INDEX donation_changes_donation ON donation_changes (donation_id, at);

-- Portal accounts of a municipality (楽天 RMS credentials sealed by the vault).
CREATE TABLE portal_accounts (
    id                  UUID PRIMARY KEY,
    municipality_id     UUID NOT NULL REFERENCES municipalities(id),
    portal              TEXT NOT NULL,
    base_url            TEXT NOT NULL,
    credentials_sealed  BYTEA,                       -- {service_secret, license_key} sealed
    get_order_version   BIGINT NOT NULL DEFAULT 9,
    requests_per_second BIGINT NOT NULL DEFAULT 1, -- 0 = unlimited (benchmarks only)
    schedule_minutes    BIGINT NOT NULL DEFAULT 30,-- 0 = no scheduled sync
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    license_expires_at  TIMESTAMPTZ,
    license_checked_at  TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (municipality_id, portal)
);

-- Where the next incremental sync starts.
CREATE TABLE sync_cursors (
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    portal           TEXT NOT NULL,
    cursor_at        TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality_id, portal)
);

CREATE TABLE sync_runs (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    portal           TEXT NOT NULL,
    trigger_kind     TEXT NOT NULL,                 -- schedule | manual | cli
    started_by       TEXT NOT NULL DEFAULT '',
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    status           TEXT NOT NULL,                 -- running | succeeded | partial | failed
    window_from      TIMESTAMPTZ,
    window_to        TIMESTAMPTZ,
    fetched          BIGINT NOT NULL DEFAULT 0,
    created          BIGINT NOT NULL DEFAULT 0,
    updated          BIGINT NOT NULL DEFAULT 0,
    unchanged        BIGINT NOT NULL DEFAULT 0,
    failed           BIGINT NOT NULL DEFAULT 0,
    requests         BIGINT NOT NULL DEFAULT 0,
    retries          BIGINT NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    detail           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sync_runs_recent ON sync_runs (municipality_id, portal, started_at);

-- Shop-defined texts (楽天 selectedChoice / remarks lines) → what they mean for us.
CREATE TABLE text_mappings (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    portal           TEXT NOT NULL,
    source_field     TEXT NOT NULL,                 -- selected_choice | remarks
    heading          TEXT NOT NULL,                 -- 項目名 / [見出し:]
    value            TEXT NOT NULL,                 -- 選択肢 / the text ('*' = any value)
    target           TEXT NOT NULL,                 -- onestop_wanted | receipt_wanted | use_of_funds | gift_declined | ignore
    target_value     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (municipality_id, portal, source_field, heading, value)
);

-- Texts seen that no mapping covers: shown for review, never silently dropped.
CREATE TABLE mapping_reviews (
    id                  UUID PRIMARY KEY,
    municipality_id     UUID NOT NULL REFERENCES municipalities(id),
    portal              TEXT NOT NULL,
    source_field        TEXT NOT NULL,
    heading             TEXT NOT NULL,
    value               TEXT NOT NULL,
    occurrences         BIGINT NOT NULL DEFAULT 1,
    example_external_id TEXT NOT NULL DEFAULT '',
    first_seen_at       TIMESTAMPTZ NOT NULL,
    last_seen_at        TIMESTAMPTZ NOT NULL,
    resolved_at         TIMESTAMPTZ,
    UNIQUE (municipality_id, portal, source_field, heading, value)
);

-- Uploaded files (donation CSVs, payment records), kept with their outcome.
CREATE TABLE imports (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    kind             TEXT NOT NULL,                 -- donations | payments
    profile          TEXT NOT NULL,
    file_name        TEXT NOT NULL,
    file_sha256      TEXT NOT NULL,
    file_bytes       BYTEA NOT NULL,
    encoding         TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,                 -- previewed | committed | failed | discarded
    rows_total       BIGINT NOT NULL DEFAULT 0,
    rows_ok          BIGINT NOT NULL DEFAULT 0,
    rows_error       BIGINT NOT NULL DEFAULT 0,
    created          BIGINT NOT NULL DEFAULT 0,
    updated          BIGINT NOT NULL DEFAULT 0,
    unchanged        BIGINT NOT NULL DEFAULT 0,
    errors           TEXT NOT NULL DEFAULT '[]',    -- JSON [{line, column, message_ja}]
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    committed_at     TIMESTAMPTZ
);
CREATE INDEX imports_recent ON imports (municipality_id, created_at);

-- User-built column mappings for portals without a built-in profile (取込調整), by name.
CREATE TABLE csv_profiles (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    name             TEXT NOT NULL,
    portal           TEXT NOT NULL DEFAULT 'other',
    mapping          TEXT NOT NULL,                 -- JSON ColumnMapping
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (municipality_id, name)
);

-- Payment records (bank / 郵便振替 / 納付書 statements) and how they matched donations.
CREATE TABLE payment_records (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    import_id        UUID REFERENCES imports(id),
    line             BIGINT NOT NULL DEFAULT 0,
    paid_on          DATE NOT NULL,
    amount           BIGINT NOT NULL,
    payer_name       TEXT NOT NULL DEFAULT '',
    payer_kana       TEXT NOT NULL DEFAULT '',
    reference        TEXT NOT NULL DEFAULT '',      -- 寄附番号 / 払込票番号 as written
    method           TEXT NOT NULL DEFAULT '',
    donation_id      UUID REFERENCES donations(id),
    status           TEXT NOT NULL,                 -- matched | unmatched | ambiguous | ignored
    note             TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    matched_at       TIMESTAMPTZ,
    matched_by       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX payment_records_status ON payment_records (municipality_id, status, paid_on);

-- Each source record a donor was built from or linked to (donor history across portals).
CREATE TABLE donor_sources (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    donor_id         UUID NOT NULL REFERENCES donors(id),
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    link             TEXT NOT NULL,                 -- new | auto | reviewed | merged
    snapshot         TEXT NOT NULL,                 -- JSON: name, kana, postal code, address, phone as received
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX donor_sources_donor ON donor_sources (donor_id);

-- Likely duplicates waiting for a person to decide.
CREATE TABLE match_reviews (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    donor_id         UUID NOT NULL REFERENCES donors(id),
    candidate_id     UUID NOT NULL REFERENCES donors(id),
    score            BIGINT NOT NULL,              -- 0–100
    reasons          TEXT NOT NULL,                 -- JSON list of matched criteria
    status           TEXT NOT NULL,                 -- pending | merged | rejected
    created_at       TIMESTAMPTZ NOT NULL,
    decided_at       TIMESTAMPTZ,
    decided_by       TEXT NOT NULL DEFAULT '',
    UNIQUE (donor_id, candidate_id)
);
CREATE INDEX match_reviews_pending ON match_reviews (municipality_id, status, score);

-- Merges keep a trace and can be undone.
CREATE TABLE donor_merges (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    kept_id          UUID NOT NULL REFERENCES donors(id),
    merged_id        UUID NOT NULL REFERENCES donors(id),
    moved            TEXT NOT NULL,                 -- JSON {donations: [ids], sources: [ids]}
    merged_at        TIMESTAMPTZ NOT NULL,
    merged_by        TEXT NOT NULL,
    undone_at        TIMESTAMPTZ,
    undone_by        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX donor_merges_kept ON donor_merges (kept_id);

-- Background jobs (portal sync, batches). Claimed one at a time; see furusato-db jobs module.
CREATE TABLE jobs (
    id               UUID PRIMARY KEY,
    municipality_id  UUID REFERENCES municipalities(id),
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL,                 -- queued | running | done | failed
    run_at           TIMESTAMPTZ NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    locked_by        TEXT NOT NULL DEFAULT '',
    locked_at        TIMESTAMPTZ,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
CREATE INDEX jobs_queue ON jobs (state, run_at);

-- The sync's own state per portal order (楽天 orderNumber): its donation, last orderProgress,
-- last stored raw version, and the shop-defined texts no mapping covered (re-evaluated when a
-- mapping is saved). Open orders (not 700/900) are re-fetched by every sync's second pass.
CREATE TABLE portal_orders (
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    portal           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    donation_id      UUID NOT NULL REFERENCES donations(id) ON DELETE CASCADE,
    order_progress   BIGINT NOT NULL,
    ordered_at       TIMESTAMPTZ NOT NULL,
    content_hash     BYTEA NOT NULL,                -- SHA-256 of the latest source record
    source_version   BIGINT NOT NULL,
    unmapped         TEXT NOT NULL DEFAULT '',      -- unmapped text keys, one per line
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (municipality_id, portal, external_id)
);
CREATE INDEX portal_orders_open ON portal_orders (municipality_id, portal, order_progress, ordered_at);
CREATE INDEX portal_orders_donation ON portal_orders (donation_id);
