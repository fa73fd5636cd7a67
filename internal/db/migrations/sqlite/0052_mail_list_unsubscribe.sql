-- The link that stops mails of a message's kind (a satisfaction survey's
-- stop link), sent as its List-Unsubscribe header (and, over HTTPS, with
-- RFC 8058's List-Unsubscribe-Post). NULL for every other message. The
-- header was read back from the survey's text, whose last line the link
-- was: the messages already stored get it from there, so that a queued
-- survey still carries it and an old one's source shows it as sent. The
-- last line is what follows the last line break (rtrim strips every
-- character but the line break from the right).
ALTER TABLE outgoing_mail ADD COLUMN list_unsubscribe TEXT;

UPDATE outgoing_mail SET list_unsubscribe = last_line
FROM (SELECT id AS mail_id, trim(replace(body, rtrim(body, replace(body, char(10), '')), '')) AS last_line
	FROM (SELECT id, rtrim(text_body, char(10)) AS body FROM outgoing_mail WHERE kind = 'ticket_survey'))
WHERE id = mail_id AND (last_line LIKE 'https://_%/survey/_%/stop' OR last_line LIKE 'http://_%/survey/_%/stop')
	AND last_line NOT LIKE '%?%' AND last_line NOT LIKE '% %';
