-- One index for both postal-code look-ups of donor matching, instead of (postal code, kana) and
-- (postal code, name) apart. Every new donor lands at a random place in each matching index, so
-- each index costs a sync about one page write per donor; the name is found inside the index
-- entries of the postal code (a few entries per code), without reading the donor rows. Postal-code
-- search still lists people by フリガナ within the code from this index.
DROP INDEX donors_active_postal;
DROP INDEX donors_active_postal_name;
CREATE INDEX donors_active_postal_keys ON donors (municipality_id, postal_code, kana_norm, name_norm) WHERE merged_into_id IS NULL;
