-- The Stripe file holding a queued submission's evidence PDF (sent as
-- service_documentation), recorded as soon as its upload returns, with the
-- SHA-256 of that PDF. After a server error on the evidence itself, the
-- next round sends new keys (0049); it used to upload the same PDF again
-- under its new file key, leaving the first file at Stripe unused. It now
-- sends the file recorded when its PDF is the one it would upload. A new
-- submission starts with none.
ALTER TABLE disputes ADD COLUMN evidence_file_id TEXT NOT NULL DEFAULT '';
ALTER TABLE disputes ADD COLUMN evidence_file_sha256 TEXT NOT NULL DEFAULT '';
