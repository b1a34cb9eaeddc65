-- The preset deflate dictionary a source record was compressed with (see
-- source_records::Dictionary): 0 none, 1 the key layout of an RMS order. Records written before
-- this column have none.
ALTER TABLE source_records ADD COLUMN raw_dictionary INTEGER NOT NULL DEFAULT 0;
