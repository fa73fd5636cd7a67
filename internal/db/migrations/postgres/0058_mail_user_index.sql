-- A user's messages in order (mail MentioningTx, the dispute evidence's
-- confirmations; List by user, newest first) end with the id since the
-- ties of one instant were given an order: outgoing_mail_user
-- (user_id, created_at) left them to a sort. This index gives the whole
-- order, and replaces it.
DROP INDEX outgoing_mail_user;
CREATE INDEX outgoing_mail_by_user ON outgoing_mail (user_id, created_at, id);
