-- The audit log: every change of state a customer or an auditor could ask
-- about, appended in the same transaction as the change. It names people by
-- id only, so erasing a person never rewrites it, and it refuses updates,
-- deletes and truncation.
CREATE TABLE audit_log (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at TIMESTAMPTZ NOT NULL,
	actor_id TEXT,
	actor_role TEXT NOT NULL,
	subject_type TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	action TEXT NOT NULL,
	before_state TEXT,
	after_state TEXT
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, id);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
