-- A member of staff who leaves the company is disabled, not deleted: their
-- name stays on the replies, notes and decisions they wrote, and the audit
-- log keeps pointing to them. While disabled_at is set the account cannot
-- sign in, its sessions and API tokens are refused, and a password reset
-- sends nothing. Customers are never disabled (the privacy flow erases
-- them), so the column is only ever set on an agent or an admin.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP CHECK (disabled_at IS NULL OR role IN ('agent', 'admin'));
