-- Indexes a bulk load dropped for its length and must build again (see dialect::defer_indexes; only SQLite loads defer indexes).
-- A load that stops without building them (a crash, a killed process) leaves its rows here, and
-- the next start of furusato builds them (Db::migrate). Keep in step with the SQLite file.
CREATE TABLE deferred_indexes (
    name             TEXT PRIMARY KEY,
    definition       TEXT NOT NULL,                 -- the CREATE INDEX statement
    deferred_by      TEXT NOT NULL,                 -- what dropped it (e.g. "rakuten sync <run id>")
    deferred_at      TIMESTAMPTZ NOT NULL
);
