-- The seeded "Livraison retardée" canned reply told the customer "nous
-- vous tenons informé·e": a middle-dot form that screen readers spell out
-- and many readers stumble on. It now says "nous vous donnons des
-- nouvelles", which agrees with no gender. Only the seeded words change:
-- a reply an admin rewrote without them is left as it is.
UPDATE canned_replies
SET body_fr = replace(body_fr, 'vous tenons informé·e sous ce ticket', 'vous donnons des nouvelles sous ce ticket')
WHERE id = 'cnr_00000000000000000000000002' AND body_fr LIKE '%vous tenons informé·e sous ce ticket%';
