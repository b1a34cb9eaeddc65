-- Import files are kept deflated (a CP932 portal CSV shrinks to some 40 %): file_deflated says
-- how file_bytes is stored, file_size is the original size (NULL on files stored before, whose
-- size is LENGTH(file_bytes)). Keep in step with the SQLite file.
ALTER TABLE imports ADD COLUMN file_deflated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE imports ADD COLUMN file_size BIGINT;
