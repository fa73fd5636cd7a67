package account

// PasswordChecks exposes the verification count to the tests.
func (s *Service) PasswordChecks() int64 { return s.passwordChecks.Load() }
