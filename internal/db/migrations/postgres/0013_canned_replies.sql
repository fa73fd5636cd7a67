-- Canned replies: answers agents insert into a reply, one title and one body
-- per language (the ticket's language picks which), managed by admins.
-- Bodies may hold placeholders ({name}, {reference}, {store}) filled in
-- for the ticket when inserted. A few defaults are seeded.

CREATE TABLE canned_replies (
	id TEXT PRIMARY KEY CHECK (substr(id, 1, 4) = 'cnr_'),
	title_fr TEXT NOT NULL CHECK (title_fr <> ''),
	title_en TEXT NOT NULL CHECK (title_en <> ''),
	body_fr TEXT NOT NULL CHECK (body_fr <> ''),
	body_en TEXT NOT NULL CHECK (body_en <> ''),
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

INSERT INTO canned_replies (id, title_fr, title_en, body_fr, body_en, created_at, updated_at) VALUES
	('cnr_00000000000000000000000001', 'Nous étudions votre demande', 'We are looking into it',
	 'Bonjour {name},

Merci pour votre message. Nous étudions votre demande ({reference}) et revenons vers vous dès que possible.

L’équipe {store}',
	 'Hello {name},

Thank you for your message. We are looking into your request ({reference}) and will get back to you as soon as we can.

The {store} team',
	 '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
	('cnr_00000000000000000000000002', 'Livraison retardée', 'Delivery delayed',
	 'Bonjour {name},

Votre livraison prend plus de temps que prévu. Nous suivons la commande de près et vous tenons informé·e sous ce ticket ({reference}). Toutes nos excuses pour ce retard.

L’équipe {store}',
	 'Hello {name},

Your delivery is taking longer than planned. We are keeping a close eye on the order and will keep you posted on this ticket ({reference}). We are sorry for the delay.

The {store} team',
	 '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
	('cnr_00000000000000000000000003', 'Remboursement effectué', 'Refund issued',
	 'Bonjour {name},

Le remboursement a été effectué. Selon votre moyen de paiement, il apparaît sur votre compte ou votre solde sous quelques jours ouvrés.

L’équipe {store}',
	 'Hello {name},

The refund has been issued. Depending on how you paid, it shows on your account or your store balance within a few business days.

The {store} team',
	 '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
	('cnr_00000000000000000000000004', 'Besoin de précisions', 'Need more details',
	 'Bonjour {name},

Pour avancer sur votre demande ({reference}), pourriez-vous nous en dire un peu plus : le numéro de commande concerné, ce que vous attendiez et ce que vous avez constaté ? Une capture d’écran nous aide aussi.

L’équipe {store}',
	 'Hello {name},

To move forward with your request ({reference}), could you tell us a little more: the order concerned, what you expected and what you saw? A screenshot helps too.

The {store} team',
	 '2026-01-01 00:00:00', '2026-01-01 00:00:00');
