package fielderr

import "testing"

func TestMessageSortsFields(t *testing.T) {
	fields := map[string]string{"quantity": "out_of_range", "email": "required", "lines[0].product_id": "duplicate"}
	want := "orders: invalid email: required, lines[0].product_id: duplicate, quantity: out_of_range"
	for range 20 { // map order changes from one range to the next
		if got := Message("orders", fields); got != want {
			t.Fatalf("Message = %q, want %q", got, want)
		}
	}
	if got := Message("desk", nil); got != "desk: invalid input" {
		t.Errorf("no fields: %q", got)
	}
}
