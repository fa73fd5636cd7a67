-- With --inbound-trusted-authserv-id, a mail whose From the trusted mail
-- server did not vouch for (DMARC, DKIM) may be anyone's under that
-- address. sender_unverified marks such a message, and the ticket it
-- opened: the agent is told, and the ticket never joins the account of
-- the address it claims (not when it opens, not when the account later
-- proves it reads the address): it holds no customer.
ALTER TABLE tickets ADD COLUMN sender_unverified BOOLEAN NOT NULL DEFAULT FALSE CHECK (NOT sender_unverified OR customer_id IS NULL);
ALTER TABLE ticket_messages ADD COLUMN sender_unverified BOOLEAN NOT NULL DEFAULT FALSE CHECK (NOT sender_unverified OR direction = 'in');
