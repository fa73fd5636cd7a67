package desk

// The SLA scan's queries, for the test that reads their plans.
var (
	MarkBreachesQuery = markBreachesQuery
	WarnDueQuery      = warnDueQuery
)

// The secrets of links, for the test of their randomness.
var (
	NewGuestToken = newGuestToken
	RandomBase32  = randomBase32
	HashToken     = hashToken
)
