-- The documents issued before 0038 kept no zone and were read in the
-- store's zone of the moment, so they still moved when it changed. The
-- program fills them, once, with the zone in force when it starts
-- (internal/invoices Service.KeepZones): append-only but for that, one
-- more change the trigger lets through: an empty zone given a name, every
-- other column as it was.
CREATE OR REPLACE FUNCTION invoices_number_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.number IS NULL AND NEW.number IS NOT NULL AND NEW.seq IS NOT NULL
		AND to_jsonb(NEW) - 'seq' - 'number' = to_jsonb(OLD) - 'seq' - 'number' THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'UPDATE' AND OLD.zone = '' AND NEW.zone <> ''
		AND to_jsonb(NEW) - 'zone' = to_jsonb(OLD) - 'zone' THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
