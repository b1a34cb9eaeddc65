-- Donor search and matching only look at donors that were not merged into another record: partial
-- indexes over those rows answer the search (and its capped count) from the index alone, in the
-- order the screen shows. Postal-code search lists people by フリガナ within the code.
DROP INDEX donors_kana;
DROP INDEX donors_name;
DROP INDEX donors_postal;
DROP INDEX donors_phone;
CREATE INDEX donors_active_kana ON donors (municipality_id, kana_norm) WHERE merged_into_id IS NULL;
CREATE INDEX donors_active_name ON donors (municipality_id, name_norm) WHERE merged_into_id IS NULL;
CREATE INDEX donors_active_postal ON donors (municipality_id, postal_code, kana_norm) WHERE merged_into_id IS NULL;
CREATE INDEX donors_active_phone ON donors (municipality_id, phone_digits) WHERE merged_into_id IS NULL;
-- Call-centre lookups by a portal's order number, whatever the portal.
CREATE INDEX donations_external ON donations (municipality_id, external_id);
