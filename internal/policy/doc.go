// Package policy is comptoir's refund policy as data and the engine that
// enforces it (POLICY.md). It is pure: no I/O, no clock; time is passed in.
//
//	p, err := policy.Parse(document)       // or policy.Default(): default@1
//	                                        // (policy.Builtins(): default@1, default@2)
//	warnings := policy.Check(p)             // where the policy promises less than the law
//	facts, err := policy.DecodeFacts(json)  // API.md's facts, strictly
//	d := policy.Evaluate(p, facts, now)     // THE decision: CLI and server alike
//
// # The document
//
// A policy is a TOML document; default.toml (embedded, POLICY.md's rules) is
// the reference, and its opening comment describes the format for store
// owners. In short:
//
//	name = "default"          # [a-z][a-z0-9_-]*, required
//	version = 1               # integer >= 1, required; name@version is the ID
//	law = "eu"                # "eu" (default) or "none"
//	timezone = "Europe/Paris" # IANA zone, required
//
//	[kinds.non_delivery]      # one table per kind, all five required
//	enabled = true            # required
//	window = "7d"             # "7d", "168h", "1d12h", "90m"; required when enabled
//	counting = "exact"        # "exact" (default) or "calendar"
//	remedy = "refund"         # non_delivery only: "refund" (default) or "redeliver"
//
//	[wording.non_delivery.partial]   # customer text per rule, en and fr
//	en = "{delivered} of {ordered} were delivered. We refund {refund}…"
//	fr = "{delivered} sur {ordered} ont été livrés. Nous vous remboursons {refund}…"
//
//	[page]                    # the policy page customers read; all four required
//	title_en = "Refunds, claims and your rights"
//	title_fr = "Remboursements, réclamations et vos droits"
//	en = """
//	Not as described. Tell us within {window.not_as_described} of payment…
//
//	Right of withdrawal. …within {window.withdrawal} of placing it…
//	"""
//	fr = """…"""
//
// Kinds: non_delivery, not_as_described, subscription_cancel, dissatisfied,
// withdrawal. Anchors: the order (non_delivery, dissatisfied, withdrawal),
// its payment (not_as_described), the last payment (subscription_cancel).
//
// Exact counting: in time when filed_at <= anchor + window. Calendar
// counting: the anchor's day is not counted, and the window ends at
// 23:59:59.999 in the policy's time zone on the anchor's local date + N
// days, so a DST change never moves it.
//
// Wording is keyed by rule name (RuleNames lists them; each Decision.Rule is
// one, and the agent.* ones are the reasons an agent gives by hand, see
// AgentReason). Templates name fields in braces: {elapsed}, {window},
// {deadline}, {refund}, {paid}, {refunded}, {ordered}, {delivered},
// {undelivered}, {expected}, {cancel}, {legal_deadline}, {policy}; each rule
// accepts only the fields it fills, so a reason never renders with a hole.
// {count, plural, one {…} other {…}} chooses a text by a count ({ordered},
// {delivered} or {undelivered}) with each language's CLDR plural rules
// (golang.org/x/text/feature/plural): "{delivered, plural, one {a été livré}
// other {ont été livrés}}" reads "a été livré" for 0 and 1 in French, and
// "{delivered, plural, one {was} other {were}}" "was" for 1 only in English.
// Forms: zero, one, two, few, many, other (required, for every number the
// others leave) and =N (exactly N, before the rules); a form's text may name
// fields and hold a plural, and a reason that some count would leave blank
// is an error.
// "{{" and "}}" are literal braces. French text gets its no-break spaces
// before : ; ! ? automatically. Wording a document leaves out is taken from
// the default policy, and Check says so.
//
// The page (Policy.Page) is plain text: paragraphs separated by blank lines,
// the lines of a paragraph joined with spaces. {window.<kind>} is that kind's
// window in words ("7 days", "14 jours calendaires"), taken from the rules so
// that the page never announces a deadline the engine does not apply; it is
// an error for a disabled kind, and {window.withdrawal} is what a consumer
// gets (at least the statutory 14 calendar days under law "eu"; an error
// under law "none", which gives no withdrawal). A page is required in both
// languages: there is no default page to fall back on, since the default's
// text describes the default's rules.
//
// Unknown keys, wrong types and malformed values are errors (*ParseError,
// "line 12: kinds.non_delivery.window: …", in English as `comptoir policy
// check` prints it), with a stable Code and the Args the message is made of,
// so that a page words it in its reader's language (ParseError.Localize,
// from the catalogs' "policy.error.<code>"; warnings likewise). A published version never
// changes: Policy.Digest (SHA-256 of the document) lets storage refuse a
// different document under an existing name@version.
//
// # Reading POLICY.md
//
// Where the prose leaves room, the engine reads it this way:
//
//   - The law first: under law "eu", consumers get the 14-day withdrawal
//     right and the 2-year liability for not_as_described whatever the
//     kinds say; a policy may lengthen the withdrawal window, never shorten
//     or disable it. Business customers and law "none" get the store's rules
//     alone, and no withdrawal.
//   - Every withdrawal decision for an EU consumer is statutory (the right is
//     the law's, including its end); refusals for business customers or law
//     "none" are not.
//   - non_delivery: the time limit is checked first (out of time is refused
//     whatever the delivery record says); then fully delivered → review;
//     then now < processing_until → waiting_delivery (no processing_until:
//     the product states none); then redeliver or a refund of
//     ProRata(refundable, ordered − delivered, ordered). "redeliver" is
//     offered once: the facts carry no redelivery, so the server decides a
//     claim whose line it already sent back to processing under
//     Policy.RedeliveryDone (the same policy with remedy "refund"), which
//     gives waiting_delivery until the new processing_until, then the
//     refund. `policy eval --policy` on a copy of the document with
//     remedy = "refund" reproduces that decision.
//   - not_as_described: evidence counts when it was sent by now, before or
//     after filing; being in time is judged on filed_at only. The 2-year
//     floor runs to the end of the local day two years after payment.
//   - subscription_cancel: within the window without a refund asked →
//     outcome none, cancel as chosen; after the window → refused, cancel as
//     chosen, whether or not a refund was asked ("After 7 days the outcome
//     is refused"); a refund always cancels now; no payment yet (or a
//     payment of 0) → none. subscription.refunded (an extension of API.md)
//     is what was already refunded of the last payment.
//   - refund_requested only matters to subscription_cancel: the other kinds
//     are claims about money or delivery whatever the customer ticked.
//   - What was already refunded for the line: non_delivery takes POLICY.md's
//     formula as written, ProRata(refundable, ordered − delivered, ordered).
//     A withdrawal from a service begun on request refunds all but the price
//     of what was delivered ("the consumer pays only for what was
//     delivered"): ProRata(paid, ordered − delivered, ordered) − refunded,
//     so an undelivered part already refunded (by a non_delivery claim) is
//     not paid again. For the same reason the server refuses a non_delivery
//     claim on a line a withdrawal already refunded, and decides one filed
//     before the withdrawal without a refund (claims: non_delivery.withdrawn).
//   - A refund that comes to nothing (everything already refunded, or a
//     share below one minor unit) is outcome none, rule <kind>.nothing_refundable.
//   - Facts that fail Validate give outcome review (facts.incomplete):
//     money is never decided on incomplete facts.
package policy
