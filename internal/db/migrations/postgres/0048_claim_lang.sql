-- The language a claim's message and a piece of text evidence are written
-- in, where it is known: the language of the page (or of the API caller)
-- the customer wrote it on, or, for a claim an agent files from a ticket
-- message, that message's language; '' when nobody knows (everything
-- stored before this). The pages mark the text with it (lang="fr"), so
-- that a screen reader pronounces it in its language.
ALTER TABLE claims ADD COLUMN lang TEXT NOT NULL DEFAULT '' CHECK (lang IN ('', 'fr', 'en'));
ALTER TABLE claim_evidence ADD COLUMN lang TEXT NOT NULL DEFAULT '' CHECK (lang IN ('', 'fr', 'en'));
