package db

import "time"

// SetUnhurriedWait sets how long background work waits for company, and a
// hook called when it starts waiting, until the returned restore.
func SetUnhurriedWait(wait time.Duration, hook func()) (restore func()) {
	oldWait, oldHook := unhurriedWait, testHookWaitForCompany
	unhurriedWait, testHookWaitForCompany = wait, hook
	return func() { unhurriedWait, testHookWaitForCompany = oldWait, oldHook }
}
