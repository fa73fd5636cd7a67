-- The language a ticket message is written in, where it is known: the
-- ticket's language when the customer wrote it on a page or the store
-- sent it (agents reply in the ticket's language), the language a mail
-- declares (Content-Language); '' when nobody knows (an agent's internal
-- note, a mail that says nothing, every message stored before this). The
-- pages mark the text with it (lang="fr") so that a screen reader
-- pronounces it in its language; the ticket's own language cannot say it,
-- since it follows the customer's current choice.
ALTER TABLE ticket_messages ADD COLUMN lang TEXT NOT NULL DEFAULT '' CHECK (lang IN ('', 'fr', 'en'));
