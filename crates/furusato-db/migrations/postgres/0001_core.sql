-- Core schema (PostgreSQL). Keep in step with migrations/sqlite/0001_core.sql.
-- Ids are UUIDv7 made in Rust (UUID); timestamps are UTC
-- (TIMESTAMPTZ); legal dates (寄附日, 受領日) are JST calendar dates (DATE).

CREATE TABLE municipalities (
    id                  UUID PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,          -- 地方公共団体コード, 6 digits with check digit
    name                TEXT NOT NULL,                 -- 仙台市
    name_kana           TEXT NOT NULL DEFAULT '',
    prefecture_code     BIGINT NOT NULL,
    mayor_title         TEXT NOT NULL,                 -- 仙台市長
    mayor_name          TEXT NOT NULL,
    issuer_postal_code  TEXT NOT NULL DEFAULT '',
    issuer_address      TEXT NOT NULL DEFAULT '',
    issuer_department   TEXT NOT NULL DEFAULT '',      -- 担当課
    issuer_phone        TEXT NOT NULL DEFAULT '',
    fiscal_year_start_month BIGINT NOT NULL DEFAULT 4,
    settings_json       TEXT NOT NULL DEFAULT '{}',
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE partners (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    code             TEXT NOT NULL,
    name             TEXT NOT NULL,
    name_kana        TEXT NOT NULL DEFAULT '',
    postal_code      TEXT COLLATE "C" NOT NULL DEFAULT '',
    address          TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (municipality_id, code)
);

CREATE TABLE users (
    id                   UUID PRIMARY KEY,
    municipality_id      UUID NOT NULL REFERENCES municipalities(id),
    login                TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    partner_id           UUID REFERENCES partners(id),
    my_number_handler    BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash        TEXT NOT NULL,
    password_changed_at  TIMESTAMPTZ NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret_sealed   BYTEA,                      -- TOTP secret, sealed by the vault
    totp_enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        BIGINT NOT NULL DEFAULT 0,
    locked_until         TIMESTAMPTZ,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    last_login_at        TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_municipality ON users (municipality_id);

-- Server-side login sessions. Only a SHA-256 of the cookie token is stored.
CREATE TABLE sessions (
    token_hash       BYTEA PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    csrf_token       TEXT NOT NULL,
    mfa_passed       BOOLEAN NOT NULL DEFAULT FALSE,
    ip               TEXT NOT NULL DEFAULT '',
    user_agent       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE donors (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    family_name      TEXT NOT NULL,
    given_name       TEXT NOT NULL DEFAULT '',
    family_kana      TEXT NOT NULL DEFAULT '',
    given_kana       TEXT NOT NULL DEFAULT '',
    name_norm        TEXT COLLATE "C" NOT NULL,                 -- normalised name without spaces, for search
    kana_norm        TEXT COLLATE "C" NOT NULL DEFAULT '',      -- normalised katakana without spaces, for search
    postal_code      TEXT COLLATE "C" NOT NULL DEFAULT '',      -- 7 digits or ''
    prefecture       TEXT NOT NULL DEFAULT '',
    city             TEXT NOT NULL DEFAULT '',
    address1         TEXT NOT NULL DEFAULT '',      -- 町域・番地
    address2         TEXT NOT NULL DEFAULT '',      -- 建物名・部屋番号
    address_norm     TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    phone_digits     TEXT COLLATE "C" NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    sex              TEXT NOT NULL DEFAULT '',      -- '' | male | female
    birth_date       DATE,
    merged_into_id   UUID REFERENCES donors(id),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX donors_kana ON donors (municipality_id, kana_norm);
CREATE INDEX donors_name ON donors (municipality_id, name_norm);
CREATE INDEX donors_postal ON donors (municipality_id, postal_code);
CREATE INDEX donors_phone ON donors (municipality_id, phone_digits);

CREATE TABLE gifts (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    code             TEXT NOT NULL,                 -- 返礼品コード, e.g. SD0001
    partner_id       UUID NOT NULL REFERENCES partners(id),
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (municipality_id, code)
);

-- Masters are versioned: a donation line points at the version it was made under.
CREATE TABLE gift_versions (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    gift_id          UUID NOT NULL REFERENCES gifts(id),
    version          BIGINT NOT NULL,
    name             TEXT NOT NULL,
    amount           BIGINT NOT NULL,              -- 寄附額 (yen)
    cost             BIGINT NOT NULL,              -- 調達額 (yen)
    valid_from       DATE NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (gift_id, version)
);

CREATE TABLE donations (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    donor_id         UUID NOT NULL REFERENCES donors(id),
    donation_number  TEXT NOT NULL,                 -- 寄附番号
    channel          TEXT NOT NULL,
    portal           TEXT,                          -- NULL for direct donations
    external_id      TEXT,                          -- the portal's own id (楽天 order number …)
    amount           BIGINT,                       -- yen; NULL while not fixed (楽天 -9999)
    donated_on       DATE NOT NULL,                 -- 寄附日 (JST date)
    received_on      DATE,                          -- 受領日 (JST date), NULL until paid
    applied_at       TIMESTAMPTZ,                          -- 申込日時 (UTC)
    payment_method   TEXT NOT NULL,
    payment_status   TEXT NOT NULL,
    use_of_funds     TEXT NOT NULL DEFAULT '',
    onestop_wanted   BOOLEAN NOT NULL DEFAULT FALSE,
    receipt_wanted   BOOLEAN NOT NULL DEFAULT TRUE,
    gift_declined    BOOLEAN NOT NULL DEFAULT FALSE,
    note             TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
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
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    donation_id      UUID NOT NULL REFERENCES donations(id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    name             TEXT NOT NULL,
    kana             TEXT NOT NULL DEFAULT '',
    postal_code      TEXT COLLATE "C" NOT NULL DEFAULT '',
    address          TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    external_ref     TEXT NOT NULL DEFAULT '',      -- e.g. 楽天 basketId
    UNIQUE (donation_id, seq)
);

CREATE TABLE donation_items (
    id               UUID PRIMARY KEY,
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    donation_id      UUID NOT NULL REFERENCES donations(id) ON DELETE CASCADE,
    line_no          BIGINT NOT NULL,
    gift_id          UUID REFERENCES gifts(id),
    gift_version_id  UUID REFERENCES gift_versions(id),
    gift_code        TEXT NOT NULL DEFAULT '',      -- code as received from the source
    name             TEXT NOT NULL,                 -- name as received / of the version
    quantity         BIGINT NOT NULL DEFAULT 1,
    amount           BIGINT,                       -- yen for the line, when known
    ship_to_id       UUID REFERENCES ship_tos(id),
    UNIQUE (donation_id, line_no)
);
CREATE INDEX donation_items_gift ON donation_items (municipality_id, gift_id);

-- Named counters (寄附番号 serial per fiscal year, receipt serials …).
CREATE TABLE counters (
    municipality_id  UUID NOT NULL REFERENCES municipalities(id),
    name             TEXT NOT NULL,
    value            BIGINT NOT NULL,
    PRIMARY KEY (municipality_id, name)
);

-- Reference data shared by every tenant (public, not personal).
CREATE TABLE local_gov_codes (
    code             TEXT PRIMARY KEY,              -- 6 digits
    code5            TEXT NOT NULL,
    pref_code        BIGINT NOT NULL,
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
    postal_code      TEXT COLLATE "C" NOT NULL,
    seq              BIGINT NOT NULL,
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
    id               UUID PRIMARY KEY,
    kind             TEXT NOT NULL,                 -- postal | localgov
    source_name      TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    rows             BIGINT NOT NULL,
    imported_at      TIMESTAMPTZ NOT NULL
);
