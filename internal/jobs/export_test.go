package jobs

import (
	"testing"
	"time"
)

// SetPassBudget shortens passBudget for the rest of t.
func SetPassBudget(t testing.TB, d time.Duration) {
	old := passBudget
	passBudget = d
	t.Cleanup(func() { passBudget = old })
}
