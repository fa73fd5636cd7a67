package account

import "context"

// PasswordChecks exposes the verification count to the tests.
func (s *Service) PasswordChecks() int64 { return s.passwordChecks.Load() }

// SendPasswordReset does the work of a reset request's job, as its worker
// would.
func (s *Service) SendPasswordReset(ctx context.Context, requestID string) error {
	return s.sendPasswordReset(ctx, requestID)
}
