package privacy

import (
	"context"

	"comptoir/internal/db"
)

// ReadFrom is the export's reading through q, for tests that read on a
// connection whose plans they changed.
func (s *Service) ReadFrom(ctx context.Context, q db.Querier, userID string) (*Export, error) {
	return s.readFrom(ctx, q, userID)
}
