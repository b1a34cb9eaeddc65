-- Core schema (SQLite). Keep in step with migrations/postgres/0001_core.sql.
-- Ids are UUIDv7 made in Rust (BLOB here, UUID on PostgreSQL); timestamps are UTC
-- (RFC 3339 TEXT here); legal dates (寄附日, 受領日) are JST calendar dates (TEXT 'YYYY-MM-DD').

CREATE TABLE municipalities (
    id                  BLOB PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,          -- 地方公共団体コード, 6 digits with check digit
    name                TEXT NOT NULL,                 -- 仙台市
    name_kana           TEXT NOT NULL DEFAULT '',
    prefecture_code     INTEGER NOT NULL,
    mayor_title         TEXT NOT NULL,                 -- 仙台市長
    mayor_name          TEXT NOT NULL,
    issuer_postal_code  TEXT NOT NULL DEFAULT '',
    issuer_address      TEXT NOT NULL DEFAULT '',
    issuer_department   TEXT NOT NULL DEFAULT '',      -- 担当課
    issuer_phone        TEXT NOT NULL DEFAULT '',
    fiscal_year_start_month INTEGER NOT NULL DEFAULT 4,
    settings_json       TEXT NOT NULL DEFAULT '{}',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE partners (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    code             TEXT NOT NULL,
    name             TEXT NOT NULL,
    name_kana        TEXT NOT NULL DEFAULT '',
    postal_code      TEXT NOT NULL DEFAULT '',
    address          TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    active           BOOLEAN NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (municipality_id, code)
);

CREATE TABLE users (
    id                   BLOB PRIMARY KEY,
    municipality_id      BLOB NOT NULL REFERENCES municipalities(id),
    login                TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    partner_id           BLOB REFERENCES partners(id),
    my_number_handler    BOOLEAN NOT NULL DEFAULT 0,
    password_hash        TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT 0,
    totp_secret_sealed   BLOB,                      -- TOTP secret, sealed by the vault
    totp_enabled         BOOLEAN NOT NULL DEFAULT 0,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,
    disabled             BOOLEAN NOT NULL DEFAULT 0,
    last_login_at        TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX users_municipality ON users (municipality_id);

-- Server-side login sessions. Only a SHA-256 of the cookie token is stored.
CREATE TABLE sessions (
    token_hash       BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    csrf_token       TEXT NOT NULL,
    mfa_passed       BOOLEAN NOT NULL DEFAULT 0,
    ip               TEXT NOT NULL DEFAULT '',
    user_agent       TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE donors (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    family_name      TEXT NOT NULL,
    given_name       TEXT NOT NULL DEFAULT '',
    family_kana      TEXT NOT NULL DEFAULT '',
    given_kana       TEXT NOT NULL DEFAULT '',
    name_norm        TEXT NOT NULL,                 -- normalised name without spaces, for search
    kana_norm        TEXT NOT NULL DEFAULT '',      -- normalised katakana without spaces, for search
    postal_code      TEXT NOT NULL DEFAULT '',      -- 7 digits or ''
    prefecture       TEXT NOT NULL DEFAULT '',
    city             TEXT NOT NULL DEFAULT '',
    address1         TEXT NOT NULL DEFAULT '',      -- 町域・番地
    address2         TEXT NOT NULL DEFAULT '',      -- 建物名・部屋番号
    address_norm     TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    phone_digits     TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    sex              TEXT NOT NULL DEFAULT '',      -- '' | male | female
    birth_date       TEXT,
    merged_into_id   BLOB REFERENCES donors(id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX donors_kana ON donors (municipality_id, kana_norm);
CREATE INDEX donors_name ON donors (municipality_id, name_norm);
CREATE INDEX donors_postal ON donors (municipality_id, postal_code);
CREATE INDEX donors_phone ON donors (municipality_id, phone_digits);

CREATE TABLE gifts (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    code             TEXT NOT NULL,                 -- 返礼品コード, e.g. SD0001
    partner_id       BLOB NOT NULL REFERENCES partners(id),
    active           BOOLEAN NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    UNIQUE (municipality_id, code)
);

-- Masters are versioned: a donation line points at the version it was made under.
CREATE TABLE gift_versions (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    gift_id          BLOB NOT NULL REFERENCES gifts(id),
    version          INTEGER NOT NULL,
    name             TEXT NOT NULL,
    amount           INTEGER NOT NULL,              -- 寄附額 (yen)
    cost             INTEGER NOT NULL,              -- 調達額 (yen)
    valid_from       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (gift_id, version)
);

CREATE TABLE donations (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    donor_id         BLOB NOT NULL REFERENCES donors(id),
    donation_number  TEXT NOT NULL,                 -- 寄附番号
    channel          TEXT NOT NULL,
    portal           TEXT,                          -- NULL for direct donations
    external_id      TEXT,                          -- the portal's own id (楽天 order number …)
    amount           INTEGER,                       -- yen; NULL while not fixed (楽天 -9999)
    donated_on       TEXT NOT NULL,                 -- 寄附日 (JST date)
    received_on      TEXT,                          -- 受領日 (JST date), NULL until paid
    applied_at       TEXT,                          -- 申込日時 (UTC)
    payment_method   TEXT NOT NULL,
    payment_status   TEXT NOT NULL,
    use_of_funds     TEXT NOT NULL DEFAULT '',
    onestop_wanted   BOOLEAN NOT NULL DEFAULT 0,
    receipt_wanted   BOOLEAN NOT NULL DEFAULT 1,
    gift_declined    BOOLEAN NOT NULL DEFAULT 0,
    note             TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (municipality_id, donation_number),
    UNIQUE (municipality_id, portal, external_id)
);
CREATE INDEX donations_donor ON donations (donor_id);
CREATE INDEX donations_date ON donations (municipality_id, donated_on, id);
CREATE INDEX donations_portal_date ON donations (municipality_id, portal, donated_on, id);
CREATE INDEX donations_status_date ON donations (municipality_id, payment_status, donated_on, id);
CREATE INDEX donations_portal_status_date ON donations (municipality_id, portal, payment_status, donated_on, id);

-- Where gifts go (送付先). A donation may send gifts to several addresses.
CREATE TABLE ship_tos (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    donation_id      BLOB NOT NULL REFERENCES donations(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    name             TEXT NOT NULL,
    kana             TEXT NOT NULL DEFAULT '',
    postal_code      TEXT NOT NULL DEFAULT '',
    address          TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    external_ref     TEXT NOT NULL DEFAULT '',      -- e.g. 楽天 basketId
    UNIQUE (donation_id, seq)
);

CREATE TABLE donation_items (
    id               BLOB PRIMARY KEY,
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    donation_id      BLOB NOT NULL REFERENCES donations(id) ON DELETE CASCADE,
    line_no          INTEGER NOT NULL,
    gift_id          BLOB REFERENCES gifts(id),
    gift_version_id  BLOB REFERENCES gift_versions(id),
    gift_code        TEXT NOT NULL DEFAULT '',      -- code as received from the source
    name             TEXT NOT NULL,                 -- name as received / of the version
    quantity         INTEGER NOT NULL DEFAULT 1,
    amount           INTEGER,                       -- yen for the line, when known
    ship_to_id       BLOB REFERENCES ship_tos(id),
    UNIQUE (donation_id, line_no)
);
CREATE INDEX donation_items_gift ON donation_items (municipality_id, gift_id);

-- Named counters (寄附番号 serial per fiscal year, receipt serials …).
CREATE TABLE counters (
    municipality_id  BLOB NOT NULL REFERENCES municipalities(id),
    name             TEXT NOT NULL,
    value            INTEGER NOT NULL,
    PRIMARY KEY (municipality_id, name)
);

-- Reference data shared by every tenant (public, not personal).
CREATE TABLE local_gov_codes (
    code             TEXT PRIMARY KEY,              -- 6 digits
    code5            TEXT NOT NULL,
    pref_code        INTEGER NOT NULL,
    kind             TEXT NOT NULL,                 -- prefecture | designated_city | city | town | village | special_ward | ward
    parent_code      TEXT,
    prefecture       TEXT NOT NULL,
    name             TEXT NOT NULL,
    prefecture_kana  TEXT NOT NULL DEFAULT '',
    name_kana        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX local_gov_codes_code5 ON local_gov_codes (code5);
CREATE INDEX local_gov_codes_name ON local_gov_codes (prefecture, name);

CREATE TABLE postal_codes (
    postal_code      TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    local_gov_code5  TEXT NOT NULL,
    prefecture       TEXT NOT NULL,
    city             TEXT NOT NULL,
    town             TEXT NOT NULL,
    prefecture_kana  TEXT NOT NULL,
    city_kana        TEXT NOT NULL,
    town_kana        TEXT NOT NULL,
    PRIMARY KEY (postal_code, seq)
);

CREATE TABLE reference_imports (
    id               BLOB PRIMARY KEY,
    kind             TEXT NOT NULL,                 -- postal | localgov
    source_name      TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    rows             INTEGER NOT NULL,
    imported_at      TEXT NOT NULL
);
