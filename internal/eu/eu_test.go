package eu

import "testing"

func TestMember(t *testing.T) {
	for country, want := range map[string]bool{"FR": true, "fr": true, "GR": true, "DE": true, "CH": false, "GB": false, "": false, "EL": false, "US": false} {
		if got := Member(country); got != want {
			t.Errorf("Member(%q) = %v, want %v", country, got, want)
		}
	}
	if len(members) != 27 {
		t.Fatalf("the EU has 27 member states, the table has %d", len(members))
	}
}
