package subscriptions

// The scan queries, for the test that checks their plans use the indexes.
var (
	RenewDueQuery = renewDueQuery
	RetryDueQuery = retryDueQuery
)
