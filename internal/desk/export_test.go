package desk

// The SLA scan's queries, for the test that reads their plans.
var (
	MarkBreachesQuery = markBreachesQuery
	WarnDueQuery      = warnDueQuery
)
