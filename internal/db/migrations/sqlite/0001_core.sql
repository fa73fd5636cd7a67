-- The audit log: every change of state a customer or an auditor could ask
-- about, appended in the same transaction as the change. It names people by
-- id only, so erasing a person never rewrites it, and it refuses updates and
-- deletes.
CREATE TABLE audit_log (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at TIMESTAMP NOT NULL,
	actor_id TEXT,
	actor_role TEXT NOT NULL,
	subject_type TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	action TEXT NOT NULL,
	before_state TEXT,
	after_state TEXT
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
