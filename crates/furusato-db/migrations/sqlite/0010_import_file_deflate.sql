-- Import files are kept deflated (a CP932 portal CSV shrinks to some 40 %): file_deflated says
-- how file_bytes is stored, file_size is the original size (NULL on files stored before, whose
-- size is LENGTH(file_bytes)). Keep in step with the PostgreSQL file.
ALTER TABLE imports ADD COLUMN file_deflated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN file_size INTEGER;
