-- outgoing_mail_kind (kind, created_at) held every message, for one query:
-- the SLA warnings about a ticket, found when the ticket is erased (mail
-- SLAWarningsMentioningTx). Every checkout's confirmation was written into
-- it (issue #9: another page per commit). The warnings alone are now.
DROP INDEX outgoing_mail_kind;
CREATE INDEX outgoing_mail_sla_warnings ON outgoing_mail (created_at) WHERE kind = 'ticket_sla_warning';
