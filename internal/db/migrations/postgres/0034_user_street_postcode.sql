-- The street and postcode of a customer's billing address. An invoice names
-- its buyer with their full address (in France, CGI art. 242 nonies A; a
-- business buyer needs it to deduct the VAT), and city, region and country
-- alone are not one. Optional: a consumer may leave them empty, and the
-- invoice then shows what is known. Erasure empties them with the rest.
ALTER TABLE users ADD COLUMN street TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
