package invoices

import (
	"context"
	"fmt"
)

// KeepZones gives the documents issued before their zone was kept (an empty
// Zone, migration 0038) the store's zone, the one they have been dated in
// so far, so that they stop moving when the store's zone changes. It runs
// when the program starts; once they are filled it changes nothing, and
// the documents issued since keep theirs. It returns how many it filled.
func (s *Service) KeepZones(ctx context.Context) (int64, error) {
	res, err := s.db.Exec(ctx, `UPDATE invoices SET zone = $1 WHERE zone = ''`, s.opts.Zone.String())
	if err != nil {
		return 0, fmt.Errorf("invoices: keep zones: %w", err)
	}
	return res.RowsAffected()
}
