-- The link that stops mails of a message's kind (a satisfaction survey's
-- stop link), sent as its List-Unsubscribe header (and, over HTTPS, with
-- RFC 8058's List-Unsubscribe-Post). NULL for every other message. The
-- header was read back from the survey's text, whose last line the link
-- was: the messages already stored get it from there, so that a queued
-- survey still carries it and an old one's source shows it as sent.
ALTER TABLE outgoing_mail ADD COLUMN list_unsubscribe TEXT;

UPDATE outgoing_mail SET list_unsubscribe = last_line
FROM (SELECT id AS mail_id, btrim(regexp_replace(rtrim(text_body, E'\n'), '^.*\n', '')) AS last_line
	FROM outgoing_mail WHERE kind = 'ticket_survey') s
WHERE id = mail_id AND (last_line LIKE 'https://_%/survey/_%/stop' OR last_line LIKE 'http://_%/survey/_%/stop')
	AND last_line NOT LIKE '%?%' AND last_line NOT LIKE '% %';
