package claims

// SetAfterGather makes f run between reading a claim's facts and deciding
// on them (tests of decisions taken on facts that changed meanwhile).
func SetAfterGather(s *Service, f func()) { s.afterGather = f }

// The scans' queries, for their plan tests.
const (
	MarkBreachesQuery = markBreachesQuery
	WarnDueQuery      = warnDueQuery
)
