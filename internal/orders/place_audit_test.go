package orders

import (
	"encoding/json"
	"testing"

	"comptoir/internal/money"
)

// The checkout's audit state is written as the map it replaced was.
func TestPlacedStateIsTheMapItReplaced(t *testing.T) {
	for _, o := range []Order{
		{Status: StatusPaid, Total: money.MustNew(5000, "EUR"), PaymentMethod: PayBalance, PolicyVersion: "default@1", Lines: make([]Line, 2)},
		{Status: StatusPendingPayment, Total: money.MustNew(-1, "USD"), PaymentMethod: PayCard, PolicyVersion: `<a&"b">`},
	} {
		got, err := json.Marshal(placedStateOf(o))
		want, werr := json.Marshal(map[string]any{"status": o.Status, "total": o.Total, "payment": o.PaymentMethod, "policy_version": o.PolicyVersion, "lines": len(o.Lines)})
		if err != nil || werr != nil || string(got) != string(want) {
			t.Errorf("%s, %v; the map gave %s, %v", got, err, want, werr)
		}
	}
}
