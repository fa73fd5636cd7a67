-- The built-in refund policy default@2 (internal/policy/default2.toml),
-- published in every store and put in force in none.
--
-- default@2 is default@1 with its wording corrected: counts agree with
-- their number ("1 sur 10 a été livré", "1 of 10 was delivered"), the answer
-- time is the store's promise (usually within 24 hours, never later than
-- 48), and the page says that a consumer may withdraw from a new
-- subscription. Its rules are default@1's.
--
-- default@1 is not touched: it is published, orders accepted it and their
-- claims are decided under it, and it stays in force until an admin puts
-- another version in force (the admin's policy page offers default@2).
-- API.md names default@1 as the built-in default, so a new store starts
-- under it too.
--
-- A store that already has a default@2 of its own (an admin's copy of
-- default@1 saved as version 2, draft or published) keeps it: the row is
-- only added where none exists. The text is default2.toml byte for byte and
-- the digest its SHA-256 (policystore checks one against the other; the
-- policystore tests check both against the embedded document).
INSERT INTO policies (name, version, document, digest, created_at, created_by, published_at)
VALUES ('default', 2, '# comptoir refund policy — default@2
#
# default@2 is default@1 with its wording corrected: counts agree with their
# number ("1 of 10 was delivered", « 1 sur 10 a été livré »), the answer time
# is the store''s promise (usually within 24 hours, never later than 48), and
# the page says that a consumer may withdraw from a new subscription too.
# Its rules and windows are default@1''s. default@1 stays published as it
# was: orders accepted under it are decided under it.
#
# This is the store''s refund policy as data: comptoir decides every claim
# from it (see POLICY.md for the rules in prose, internal/policy/doc.go for
# the format). Check a document with `comptoir policy check FILE`, try it
# with `comptoir policy eval --policy FILE --facts F`.
#
# FORMAT (TOML)
#   name      policy name: lower-case letters, digits, - and _ (required)
#   version   integer >= 1 (required). A published name@version never
#             changes: to edit a policy, copy it and raise the version.
#             Orders and subscriptions keep the version their customer
#             accepted; decisions name it ("default@1").
#   law       "eu" (default) or "none". Under "eu", consumers get the legal
#             floors whatever the rules below say: the 14-day right of
#             withdrawal and 2 years of liability for digital content and
#             services. Under "none", the rules below alone apply.
#   timezone  IANA zone of the store (required), e.g. "Europe/Paris":
#             calendar windows count days there, reasons show times there.
#
#   [kinds.<kind>]   one table per claim kind, all five required:
#                    non_delivery, not_as_described, subscription_cancel,
#                    dissatisfied, withdrawal
#     enabled   true or false (required). A disabled kind is refused,
#               except where the law gives consumers the right anyway.
#     window    how long after the anchor a claim is in time (required when
#               enabled): whole days, hours, minutes, in that order:
#               "7d", "168h", "1d12h". 7d is exactly 168h.
#     counting  "exact" (default): in time when filed_at <= anchor + window.
#               "calendar": the anchor''s day is not counted and the window
#               ends at 23:59:59.999 local time on the anchor''s local date
#               + N days (write the window in days: "14d").
#     remedy    non_delivery only: "refund" (default) refunds the undelivered
#               part; "redeliver" sends the line back to processing first.
#
#   Anchors: non_delivery, dissatisfied and withdrawal count from the order;
#   not_as_described from its payment; subscription_cancel from the last
#   payment of the subscription. The withdrawal window can only lengthen the
#   statutory 14 calendar days, never shorten them.
#
#   [wording.<kind>.<rule>]   what the customer reads, for each rule a
#     en = "…"                decision can carry (its `rule`, e.g.
#     fr = "…"                non_delivery.partial) and each reason an agent
#                             can give (wording.agent.*). Both languages for
#                             every rule; what a document leaves out comes
#                             from this default policy, with a warning.
#
#   Templates name fields in braces; each rule has only the fields it fills
#   (a wrong one is an error, with the list):
#     {elapsed}        time from the anchor to the claim: "9 days 4 hours"
#     {window}         "7 days", "14 calendar days"
#     {deadline}       last moment in time: "15 March 2026 at 10:00 Paris time"
#     {refund} {paid} {refunded}        amounts, formatted for the language
#     {ordered} {delivered} {undelivered}   quantities of the order line
#     {expected}       end of the product''s processing time
#     {cancel}         when a subscription ends: "immediately", "at the end of
#                      the paid period, on 30 April 2026"
#     {legal_deadline} end of the 2-year statutory liability: "8 March 2028"
#     {policy}         name@version
#   {count, plural, one {…} other {…}}   a text chosen by a count, one of
#                    {ordered} {delivered} {undelivered}: each language''s
#                    plural rules (CLDR) pick the form: in English 1 is
#                    "one" and 0 "other", in French 0 and 1 are "one".
#                    Forms: zero one two few many other, and =N for exactly
#                    N; other is required and takes every number the others
#                    leave. A form''s text may name fields:
#                    "{delivered} of {ordered} {delivered, plural,
#                     one {was} other {were}} delivered"
#   {{ and }} are literal braces. In French, write ordinary spaces before
#   : ; ! ? and inside « »: they become the no-break spaces French
#   typography wants.

name = "default"
version = 2
law = "eu"
timezone = "Europe/Paris"

# "Les réclamations pour non-livraison doivent être soumises … dans les 7
# jours suivant la commande."
[kinds.non_delivery]
enabled = true
window = "7d"
counting = "exact"
remedy = "refund"

# "… dans les 7 jours suivant la date d''achat. Des preuves claires doivent
# être fournies …"
[kinds.not_as_described]
enabled = true
window = "7d"
counting = "exact"

# "… dans les 7 jours suivant le dernier paiement."
[kinds.subscription_cancel]
enabled = true
window = "7d"
counting = "exact"

# "… si dans les 7 jours vous n''êtes pas satisfait de votre commande …
# nous trouverons une solution."
[kinds.dissatisfied]
enabled = true
window = "7d"
counting = "exact"

# The statutory right: 14 calendar days, the order day not counted.
[kinds.withdrawal]
enabled = true
window = "14d"
counting = "calendar"

# --- What customers read ---------------------------------------------------

[wording.facts.incomplete]
en = "We need to look at this claim ourselves: an agent will answer you, usually within 24 hours and never later than 48 hours."
fr = "Nous devons examiner cette réclamation nous-mêmes : un conseiller vous répondra, en général sous 24 heures et jamais au-delà de 48 heures."

# non_delivery

[wording.non_delivery.disabled]
en = "This store’s policy does not provide refunds for non-delivery. If something is wrong with your order, reply to this message and an agent will help you."
fr = "La politique de cette boutique ne prévoit pas de remboursement pour non-livraison. Si quelque chose ne va pas avec votre commande, répondez à ce message : un conseiller vous aidera."

[wording.non_delivery.out_of_time]
en = "No refund is due: you filed {elapsed} after the order; this policy allows {window} (until {deadline})."
fr = "Aucun remboursement n’est dû : votre réclamation a été faite {elapsed} après la commande ; cette politique accorde {window} (jusqu’au {deadline})."

[wording.non_delivery.delivered]
en = "Our delivery record shows this line as fully delivered ({delivered} of {ordered}). An agent will check the record and answer you, usually within 24 hours and never later than 48 hours."
fr = "Notre registre de livraison indique que cette ligne a été entièrement livrée ({delivered} sur {ordered}). Un conseiller va vérifier ce registre et vous répondra, en général sous 24 heures et jamais au-delà de 48 heures."

[wording.non_delivery.processing]
en = "Your order is still within its stated processing time: delivery is expected by {expected} ({delivered} of {ordered} delivered so far). Your claim stays open and will be decided again then."
fr = "Votre commande est encore dans son délai de traitement annoncé : la livraison est attendue d’ici le {expected} ({delivered} sur {ordered} {delivered, plural, one {livré} other {livrés}} à ce jour). Votre réclamation reste ouverte et sera réexaminée à cette date."

[wording.non_delivery.partial]
en = "{delivered} of {ordered} {delivered, plural, one {was} other {were}} delivered. We refund the undelivered part, {refund}, to your original means of payment."
fr = "{delivered} sur {ordered} {delivered, plural, one {a été livré} other {ont été livrés}}. Nous vous remboursons la part non livrée, soit {refund}, sur votre moyen de paiement d’origine."

[wording.non_delivery.undelivered]
en = "Nothing of this line was delivered in time. We refund {refund} to your original means of payment."
fr = "Rien n’a été livré sur cette ligne dans les délais. Nous vous remboursons {refund} sur votre moyen de paiement d’origine."

[wording.non_delivery.redeliver]
en = "{delivered} of {ordered} {delivered, plural, one {was} other {were}} delivered. As this store’s policy provides, we first deliver the missing {undelivered} again; we will tell you when it is done."
fr = "{delivered} sur {ordered} {delivered, plural, one {a été livré} other {ont été livrés}}. Comme le prévoit la politique de la boutique, nous relançons d’abord la livraison {undelivered, plural, one {du {undelivered} manquant} other {des {undelivered} manquants}} ; nous vous préviendrons dès qu’elle sera terminée."

[wording.non_delivery.nothing_refundable]
en = "There is no money left to refund for the undelivered part of this line: {refunded} of the {paid} paid has already been refunded."
fr = "Il ne reste rien à rembourser pour la part non livrée de cette ligne : {refunded} sur les {paid} payés ont déjà été remboursés."

# not_as_described

[wording.not_as_described.disabled]
en = "This store’s policy does not provide refunds for products not as described. Reply to this message if you need help: an agent will answer you."
fr = "La politique de cette boutique ne prévoit pas de remboursement pour un produit non conforme à sa description. Répondez à ce message si vous avez besoin d’aide : un conseiller vous répondra."

[wording.not_as_described.out_of_time]
en = "No refund is due: you filed {elapsed} after payment; this policy allows {window} (until {deadline})."
fr = "Aucun remboursement n’est dû : votre réclamation a été faite {elapsed} après le paiement ; cette politique accorde {window} (jusqu’au {deadline})."

[wording.not_as_described.awaiting_evidence]
en = "Your claim was filed in time. Please send us what shows that the product is not as described (screenshots, links, an explanation): your claim stays open until then, however long it takes."
fr = "Votre réclamation a été faite dans les délais. Merci de nous envoyer ce qui montre que le produit n’est pas conforme à sa description (captures d’écran, liens, explications) : elle reste ouverte jusque-là, quel que soit le temps qu’il vous faudra."

[wording.not_as_described.review]
en = "Your claim was filed in time, with evidence. An agent will compare it with the product description and answer you, usually within 24 hours and never later than 48 hours."
fr = "Votre réclamation a été faite dans les délais, avec des éléments à l’appui. Un conseiller va les comparer à la description du produit et vous répondra, en général sous 24 heures et jamais au-delà de 48 heures."

[wording.not_as_described.statutory_awaiting_evidence]
en = "This store’s own deadline for such claims has passed, but as a consumer you have the legal guarantee of conformity for digital content and services (EU Directive 2019/770), which runs until {legal_deadline}. Please send us what shows that the product is not as described."
fr = "Le délai propre à la boutique pour ce type de réclamation est dépassé, mais en tant que consommateur vous bénéficiez de la garantie légale de conformité des contenus et services numériques (directive (UE) 2019/770), valable jusqu’au {legal_deadline}. Merci de nous envoyer ce qui montre que le produit n’est pas conforme à sa description."

[wording.not_as_described.statutory_review]
en = "This store’s own deadline for such claims has passed, but as a consumer you have the legal guarantee of conformity for digital content and services (EU Directive 2019/770), which runs until {legal_deadline}. An agent will review your evidence and answer you, usually within 24 hours and never later than 48 hours."
fr = "Le délai propre à la boutique pour ce type de réclamation est dépassé, mais en tant que consommateur vous bénéficiez de la garantie légale de conformité des contenus et services numériques (directive (UE) 2019/770), valable jusqu’au {legal_deadline}. Un conseiller va examiner vos éléments et vous répondra, en général sous 24 heures et jamais au-delà de 48 heures."

# subscription_cancel

[wording.subscription_cancel.refund]
en = "Your request came {elapsed} after the last payment, within the {window} this policy allows: we refund that payment in full, {refund}, to your original means of payment. Your subscription stops immediately and will not renew."
fr = "Votre demande est arrivée {elapsed} après le dernier paiement, dans le délai de {window} prévu par cette politique : nous vous remboursons intégralement ce paiement, soit {refund}, sur votre moyen de paiement d’origine. Votre abonnement s’arrête immédiatement et ne sera pas renouvelé."

[wording.subscription_cancel.no_refund_requested]
en = "Your subscription is cancelled: it ends {cancel} and will not renew. As you asked, no refund is made."
fr = "Votre abonnement est résilié : il prend fin {cancel} et ne sera pas renouvelé. Comme vous l’avez demandé, aucun remboursement n’est effectué."

[wording.subscription_cancel.out_of_time]
en = "Your subscription is cancelled: it ends {cancel} and will not renew. No refund is due: you asked {elapsed} after the last payment; this policy allows {window}."
fr = "Votre abonnement est résilié : il prend fin {cancel} et ne sera pas renouvelé. Aucun remboursement n’est dû : votre demande est arrivée {elapsed} après le dernier paiement ; cette politique accorde {window}."

[wording.subscription_cancel.disabled]
en = "Your subscription is cancelled: it ends {cancel} and will not renew. This store’s policy does not refund subscription payments."
fr = "Votre abonnement est résilié : il prend fin {cancel} et ne sera pas renouvelé. La politique de cette boutique ne prévoit pas de remboursement des paiements d’abonnement."

[wording.subscription_cancel.trial]
en = "Your subscription is cancelled: it ends {cancel}. Nothing has been charged yet, so nothing is owed."
fr = "Votre abonnement est résilié : il prend fin {cancel}. Rien n’a encore été prélevé : rien n’est dû."

[wording.subscription_cancel.nothing_refundable]
en = "Your subscription is cancelled and stops immediately. The last payment, {paid}, has already been refunded: nothing more is due."
fr = "Votre abonnement est résilié et s’arrête immédiatement. Le dernier paiement, {paid}, a déjà été remboursé : rien de plus n’est dû."

[wording.subscription_cancel.statutory_unprovided]
en = "You are withdrawing from your subscription within the legal period of {window} after taking it out (until {deadline}), and you had asked for it to start at once: you pay only for the part of the current period already provided. We refund the rest of the last payment of {paid}, {refund}, to your original means of payment (EU Directive 2011/83/EU, art. 14(3)). Your subscription stops immediately and will not renew."
fr = "Vous vous rétractez de votre abonnement dans le délai légal de {window} après sa souscription (jusqu’au {deadline}), et vous aviez demandé qu’il commence aussitôt : vous ne payez que la part de la période en cours déjà fournie. Nous vous remboursons le reste du dernier paiement de {paid}, soit {refund}, sur votre moyen de paiement d’origine (article L221-25 du Code de la consommation). Votre abonnement s’arrête immédiatement et ne sera pas renouvelé."

[wording.subscription_cancel.statutory_no_request]
en = "You are withdrawing from your subscription within the legal period of {window} after taking it out (until {deadline}), and no request for it to start before the end of that period was recorded: you owe nothing. We refund the last payment in full, {refund}, to your original means of payment. Your subscription stops immediately and will not renew."
fr = "Vous vous rétractez de votre abonnement dans le délai légal de {window} après sa souscription (jusqu’au {deadline}), et aucune demande de démarrage avant la fin de ce délai n’a été enregistrée : vous ne devez rien. Nous vous remboursons intégralement le dernier paiement, soit {refund}, sur votre moyen de paiement d’origine. Votre abonnement s’arrête immédiatement et ne sera pas renouvelé."

# dissatisfied

[wording.dissatisfied.disabled]
en = "This store’s policy does not provide for claims of dissatisfaction. Reply to this message if something is wrong with your order: an agent will look at it."
fr = "La politique de cette boutique ne prévoit pas de réclamation pour insatisfaction. Répondez à ce message si quelque chose ne va pas avec votre commande : un conseiller l’examinera."

[wording.dissatisfied.out_of_time]
en = "No refund is due: you wrote {elapsed} after the order; this policy allows {window} (until {deadline}). If something is actually wrong with the order, reply to this message: an agent will look at it."
fr = "Aucun remboursement n’est dû : vous nous avez écrit {elapsed} après la commande ; cette politique accorde {window} (jusqu’au {deadline}). Si quelque chose ne va vraiment pas avec la commande, répondez à ce message : un conseiller l’examinera."

[wording.dissatisfied.solution]
en = "Thank you for telling us. An agent will propose a solution, usually within 24 hours and never later than 48 hours: a new delivery, a partial refund, store credit or a switch to another product. A refund is not automatic."
fr = "Merci de nous l’avoir signalé. Un conseiller vous proposera une solution, en général sous 24 heures et jamais au-delà de 48 heures : une nouvelle livraison, un remboursement partiel, un avoir ou un échange contre un autre produit. Le remboursement n’est pas automatique."

# withdrawal (statutory)

[wording.withdrawal.law_none]
en = "This store sells without a statutory right of withdrawal, so this order cannot be withdrawn from. You can still file another kind of claim."
fr = "Cette boutique vend sans droit légal de rétractation : cette commande ne peut donc pas faire l’objet d’une rétractation. Vous pouvez toutefois faire un autre type de réclamation."

[wording.withdrawal.business]
en = "The right of withdrawal protects consumers only; this order was placed as a business, so it does not apply. You can still file another kind of claim."
fr = "Le droit de rétractation ne protège que les consommateurs ; cette commande a été passée en tant que professionnel, il ne s’applique donc pas. Vous pouvez toutefois faire un autre type de réclamation."

[wording.withdrawal.out_of_time]
en = "Your right of withdrawal (EU Directive 2011/83/EU) lasted {window} after the order and ended on {deadline}; you asked {elapsed} after the order, so it can no longer be exercised."
fr = "Votre droit de rétractation (article L221-18 du Code de la consommation) durait {window} après la commande et a pris fin le {deadline} ; votre demande est arrivée {elapsed} après la commande, il ne peut donc plus être exercé."

[wording.withdrawal.service_performed]
en = "You asked for the service to start before the end of the withdrawal period, and it has now been fully performed ({delivered} of {ordered}): your right of withdrawal ended with full performance (EU Directive 2011/83/EU, art. 16(a))."
fr = "Vous avez demandé que le service commence avant la fin du délai de rétractation, et il a été entièrement exécuté ({delivered} sur {ordered}) : votre droit de rétractation a pris fin avec cette exécution complète (article L221-28 du Code de la consommation)."

[wording.withdrawal.statutory_undelivered]
en = "You are withdrawing within the legal period from a service you asked to start at once: you pay only for what was delivered ({delivered} of {ordered}). We refund the rest, {refund}, to your original means of payment (EU Directive 2011/83/EU, art. 14(3))."
fr = "Vous vous rétractez dans le délai légal d’un service dont vous aviez demandé l’exécution immédiate : vous ne payez que ce qui a été fourni ({delivered} sur {ordered}). Nous vous remboursons le reste, soit {refund}, sur votre moyen de paiement d’origine (article L221-25 du Code de la consommation)."

[wording.withdrawal.service_no_request]
en = "You are withdrawing within the legal period, and no request for the service to start before its end was recorded: you owe nothing. We refund everything you paid, {refund}, to your original means of payment."
fr = "Vous vous rétractez dans le délai légal et aucune demande d’exécution du service avant la fin de ce délai n’a été enregistrée : vous ne devez rien. Nous vous remboursons la totalité de ce que vous avez payé, soit {refund}, sur votre moyen de paiement d’origine."

[wording.withdrawal.digital_supply_begun]
en = "You asked for the content to be supplied at once and acknowledged that you would lose your right of withdrawal once supply began; supply has begun, so the right no longer applies (EU Directive 2011/83/EU, art. 16(m))."
fr = "Vous avez demandé la fourniture immédiate du contenu et reconnu perdre votre droit de rétractation dès qu’elle commencerait ; la fourniture a commencé, ce droit ne s’applique donc plus (article L221-28 du Code de la consommation)."

[wording.withdrawal.digital_not_begun]
en = "You are withdrawing within the legal period and supply of the content has not begun: we refund everything you paid, {refund}, to your original means of payment."
fr = "Vous vous rétractez dans le délai légal et la fourniture du contenu n’a pas commencé : nous vous remboursons la totalité de ce que vous avez payé, soit {refund}, sur votre moyen de paiement d’origine."

[wording.withdrawal.digital_no_consent]
en = "You are withdrawing within the legal period, and your express consent to immediate supply together with your acknowledgement that you would lose the right of withdrawal was not recorded, so the right still applies: we refund everything you paid, {refund}, to your original means of payment."
fr = "Vous vous rétractez dans le délai légal, et votre accord exprès pour une fourniture immédiate accompagné de la reconnaissance de la perte de votre droit de rétractation n’a pas été enregistré : ce droit s’applique donc. Nous vous remboursons la totalité de ce que vous avez payé, soit {refund}, sur votre moyen de paiement d’origine."

[wording.withdrawal.nothing_refundable]
en = "Your withdrawal is accepted, but there is no money left to refund for this line: {refunded} of the {paid} paid has already been refunded."
fr = "Votre rétractation est acceptée, mais il ne reste rien à rembourser sur cette ligne : {refunded} sur les {paid} payés ont déjà été remboursés."

# Reasons an agent gives when deciding by hand.

[wording.agent.expectation_only]
en = "Your complaint rests on expectations that the product description never set, so it cannot be upheld."
fr = "Votre réclamation repose sur des attentes que la description du produit ne créait pas ; elle ne peut donc pas être acceptée."

[wording.agent.insufficient_evidence]
en = "What you sent does not show that the product differs from its description, so the claim cannot be upheld. You can send more at any time."
fr = "Les éléments envoyés ne montrent pas que le produit diffère de sa description ; la réclamation ne peut donc pas être acceptée. Vous pouvez en envoyer d’autres à tout moment."

[wording.agent.delivery_record]
en = "Our delivery record shows this line as fully delivered, so the claim cannot be upheld. Reply with anything that shows otherwise and we will look again."
fr = "Notre registre de livraison indique que cette ligne a été entièrement livrée ; la réclamation ne peut donc pas être acceptée. Répondez-nous avec tout élément montrant le contraire et nous l’examinerons à nouveau."

# --- The policy page ---------------------------------------------------------
#
# [page]   what customers read on the policy page, before they buy and after:
#   title_en, title_fr   the page''s title, one line each (required)
#   en, fr               the text (required, not empty): plain text, in
#                        paragraphs separated by a blank line; the lines of a
#                        paragraph are joined, so wrap them as you like.
#   {window.<kind>}      that kind''s window in words, from the rules above:
#                        "7 days" / "7 jours", "14 calendar days" /
#                        "14 jours calendaires". Write windows this way, never
#                        in figures, so the page cannot contradict the rules.
#                        A disabled kind has no window to announce (an error);
#                        {window.withdrawal} is the consumer''s window, at
#                        least the statutory 14 calendar days under law "eu".
#   {{ and }} are literal braces; French gets its no-break spaces as above.
#   The page is part of the version: customers who accepted default@1 keep
#   reading default@1''s page, those who accepted default@2 default@2''s.

[page]
title_en = "Refunds, claims and your rights"
title_fr = "Remboursements, réclamations et vos droits"

en = """
Everything we sell is supplied online: services carried out over time, digital content and subscriptions. If something goes wrong with an order, tell us in writing and we will sort it out with you. This page says what you can ask for, until when, and what happens next. These are the rules our software applies to every claim: what you read here is what you get.

How to reach us. Write to us through the contact form, or reply to any email we sent you about your order. A person answers every message, usually within 24 hours and never later than 48 hours. Your claim is dated from your first written message: if we take time to answer, you never lose a deadline because of it.

Order not delivered. If an order is not fully delivered, you can claim within {window.non_delivery} of placing it. While the processing time stated for the product is still running, we tell you when delivery is expected and keep your claim open until then. Once that time has passed, we refund the part that was not delivered, in proportion to what you paid, without you having to ask again. If our delivery record shows everything as delivered, a member of our team checks that record before deciding.

Not as described. If what you received does not match its description on our site, tell us within {window.not_as_described} of payment and show us the difference: screenshots, links or a short explanation. A claim made in time stays open until your evidence reaches us, however long that takes. A member of our team compares it with the description, then refunds you in full or in part, or delivers again. A complaint about something the description never promised cannot be upheld.

Subscriptions. You can cancel a subscription at any time from your account, without having to contact anyone: no further payment is taken after your request, and we confirm the cancellation by email with the date it takes effect. If you cancel within {window.subscription_cancel} of the last payment and ask for a refund, we refund that payment in full and the subscription stops at once. Otherwise there is no refund, and you choose: keep the service until the end of the period already paid for, or stop it now. If you subscribe as a consumer in the European Union, you can also withdraw from a new subscription within 14 calendar days of taking it out, not counting the day you subscribed, even once {window.subscription_cancel} have passed since the last payment: cancel it from your account and ask for a refund (EU Directive 2011/83/EU). If you did not ask for the service to start at once, we refund the last payment in full; if you did, you pay only for the part of the period already provided, and we refund the rest.

Not happy with an order. If an order does not satisfy you for any other reason, write to us within {window.dissatisfied} of placing it. We cannot always offer a refund, but we will always propose a solution, usually within 24 hours and never later than 48 hours: delivering again, a partial refund, store credit, or a switch to another product.

Your rights under the law. If you buy as a consumer in the European Union, the law gives you the rights below whatever our own rules say. Our rules can add to them, never take them away.

Right of withdrawal. You can withdraw from an order within {window.withdrawal} of placing it, not counting the day of the order, without giving any reason (for a subscription, see above): use the withdrawal button on the order’s page, and we acknowledge your withdrawal by email straight away, with its date and time (EU Directive 2011/83/EU). For a service you asked us, at checkout, to start before that period ends, you pay only for what was delivered before you withdrew and we refund the rest; once the service has been fully performed, the right has ended. If you did not ask for an early start, we refund everything. For digital content, the right ends when supply begins, but only if at checkout you asked for immediate supply and acknowledged that you would then lose the right; otherwise we refund everything.

Legal guarantee of conformity. Digital content and services must match what was agreed and work as described. If they do not, you can tell us for two years after your purchase, even once our own deadline for claims about products not as described has passed (EU Directive 2019/770). We will ask you for what shows the problem, and a member of our team will review it.

Business customers. These legal rights protect consumers. If you buy as a business, the store’s own rules above apply.

How we refund. A refund goes back to the means of payment you used: to your card for a card payment, to your balance for a payment from your balance. We offer store credit instead only if you agree to it at that moment; it is never imposed.

Deadlines and versions. Each deadline runs from your order, your payment or the last payment of your subscription, as stated above, and a claim is in time when your first written message reaches us before it ends. Every decision we send you names the version of this policy it applies, the one you accepted when you ordered, and says so when the law, rather than our own rules, gave the answer.
"""

fr = """
Tout ce que nous vendons est fourni en ligne : des services réalisés dans la durée, des contenus numériques et des abonnements. Si quelque chose ne va pas avec une commande, écrivez-nous et nous chercherons une solution avec vous. Cette page indique ce que vous pouvez demander, jusqu’à quand, et ce qui se passe ensuite. Ce sont les règles que notre logiciel applique à chaque réclamation : ce que vous lisez ici est ce qui s’applique.

Nous contacter. Écrivez-nous au moyen du formulaire de contact, ou répondez à n’importe quel e-mail que nous vous avons envoyé au sujet de votre commande. Une personne répond à chaque message, en général sous 24 heures et jamais au-delà de 48 heures. Votre réclamation prend date à votre premier message écrit : si nous tardons à répondre, vous ne perdez jamais un délai pour autant.

Commande non livrée. Si une commande n’est pas entièrement livrée, vous pouvez faire une réclamation dans un délai de {window.non_delivery} après la commande. Tant que le délai de traitement annoncé pour le produit court encore, nous vous indiquons la date de livraison prévue et votre réclamation reste ouverte jusque-là. Une fois ce délai passé, nous vous remboursons la part non livrée, au prorata de ce que vous avez payé, sans que vous ayez à le redemander. Si notre registre de livraison indique que tout a été livré, un membre de notre équipe vérifie ce registre avant de décider.

Produit non conforme à sa description. Si ce que vous avez reçu ne correspond pas à sa description sur notre site, signalez-le-nous dans un délai de {window.not_as_described} après le paiement, en nous montrant la différence : captures d’écran, liens ou simple explication. Une réclamation faite dans les délais reste ouverte jusqu’à ce que vos éléments nous parviennent, quel que soit le temps qu’il vous faudra. Un membre de notre équipe les compare à la description, puis vous rembourse en tout ou en partie, ou relance la livraison. Une réclamation portant sur ce que la description ne promettait pas ne peut pas être acceptée.

Abonnements. Vous pouvez résilier un abonnement à tout moment depuis votre compte, sans avoir à contacter qui que ce soit : plus aucun paiement n’est prélevé après votre demande, et nous vous confirmons la résiliation par e-mail, avec sa date de prise d’effet. Si vous résiliez dans un délai de {window.subscription_cancel} après le dernier paiement en demandant un remboursement, nous remboursons intégralement ce paiement et l’abonnement s’arrête aussitôt. Sinon, il n’y a pas de remboursement, et vous choisissez : conserver le service jusqu’à la fin de la période déjà payée, ou l’arrêter tout de suite. Si vous vous abonnez en tant que consommateur dans l’Union européenne, vous pouvez aussi vous rétracter d’un nouvel abonnement dans un délai de 14 jours calendaires après sa souscription, le jour de la souscription n’étant pas compté, même une fois passé le délai de {window.subscription_cancel} après le dernier paiement : résiliez-le depuis votre compte en demandant un remboursement (article L221-18 du Code de la consommation). Si vous n’aviez pas demandé que le service commence aussitôt, nous remboursons intégralement le dernier paiement ; sinon, vous ne payez que la part de la période déjà fournie, et nous remboursons le reste.

Une commande qui ne vous convient pas. Si une commande ne vous satisfait pas pour une autre raison, écrivez-nous dans un délai de {window.dissatisfied} après la commande. Nous ne pouvons pas toujours proposer un remboursement, mais nous vous proposerons toujours une solution, en général sous 24 heures et jamais au-delà de 48 heures : une nouvelle livraison, un remboursement partiel, un avoir ou l’échange contre un autre produit.

Vos droits selon la loi. Si vous achetez en tant que consommateur dans l’Union européenne, la loi vous accorde les droits ci-dessous, quelles que soient nos propres règles. Celles-ci peuvent y ajouter, jamais les réduire.

Droit de rétractation. Vous pouvez vous rétracter d’une commande dans un délai de {window.withdrawal} après celle-ci, le jour de la commande n’étant pas compté, sans avoir à vous justifier (pour un abonnement, voir plus haut) : utilisez le bouton de rétractation sur la page de la commande, et nous en accusons réception aussitôt par e-mail, avec la date et l’heure (article L221-18 du Code de la consommation). Pour un service, si vous avez demandé lors de la commande qu’il commence avant la fin de ce délai, vous ne payez que ce qui a été fourni avant votre rétractation et nous remboursons le reste ; une fois le service entièrement exécuté, ce droit a pris fin. Si vous n’avez pas demandé ce démarrage anticipé, nous remboursons tout. Pour un contenu numérique, ce droit prend fin quand la fourniture commence, mais seulement si, lors de la commande, vous avez demandé la fourniture immédiate et reconnu perdre alors ce droit ; sinon, nous remboursons tout.

Garantie légale de conformité. Les contenus et services numériques doivent être conformes à ce qui a été convenu et fonctionner comme décrit. Si ce n’est pas le cas, vous pouvez nous le signaler pendant deux ans après votre achat, même une fois passé notre propre délai pour les produits non conformes à leur description (directive (UE) 2019/770). Nous vous demanderons ce qui montre le problème, et un membre de notre équipe l’examinera.

Clients professionnels. Ces droits légaux protègent les consommateurs. Si vous achetez en tant que professionnel, seules les règles de la boutique décrites plus haut s’appliquent.

Comment nous remboursons. Un remboursement revient sur le moyen de paiement utilisé : sur votre carte pour un paiement par carte, sur votre solde pour un paiement depuis votre solde. Nous ne proposons un avoir à la place que si vous l’acceptez à ce moment-là ; il ne vous est jamais imposé.

Délais et versions. Chaque délai court à partir de votre commande, de votre paiement ou du dernier paiement de votre abonnement, comme indiqué plus haut, et une réclamation est dans les délais si votre premier message écrit nous parvient avant son terme. Chaque décision que nous vous envoyons indique la version de cette politique qu’elle applique, celle que vous avez acceptée en commandant, et précise quand c’est la loi, et non nos propres règles, qui a tranché.
"""
', '5777d102082cc365e3ca47e9c4f39cadca3e0a60312e0ecb05ce1fc39f991557', CURRENT_TIMESTAMP, NULL, CURRENT_TIMESTAMP)
ON CONFLICT (name, version) DO NOTHING;
