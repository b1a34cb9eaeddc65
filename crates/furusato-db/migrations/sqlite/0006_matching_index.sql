-- Donor matching looks candidates up by (postal code, kana) and by (postal code, name). The
-- second needs its own index: where many donors share a postal code (a large apartment block, a
-- city's own residents), probing (postal code) alone and filtering the names is a scan per row.
CREATE INDEX donors_active_postal_name ON donors (municipality_id, postal_code, name_norm) WHERE merged_into_id IS NULL;
