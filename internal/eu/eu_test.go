package eu

import "testing"

func TestMember(t *testing.T) {
	for country, want := range map[string]bool{"FR": true, "fr": true, "GR": true, "DE": true, "CH": false, "GB": false, "": false, "EL": false, "US": false,
		// Outside the VAT territory, though in the Union.
		"RE": false, "GP": false, "AX": false} {
		if got := Member(country); got != want {
			t.Errorf("Member(%q) = %v, want %v", country, got, want)
		}
	}
	if len(members) != 27 {
		t.Fatalf("the EU has 27 member states, the table has %d", len(members))
	}
}

func TestConsumerLawApplies(t *testing.T) {
	for country, want := range map[string]bool{
		"FR": true, "de": true, "GR": true,
		// Outermost regions and Åland: in the Union.
		"RE": true, "re": true, "GP": true, "MQ": true, "GF": true, "YT": true, "MF": true, "AX": true,
		// Overseas countries and territories: not in the Union.
		"NC": false, "PF": false, "BL": false, "PM": false, "WF": false,
		"CH": false, "GB": false, "NO": false, "US": false, "EL": false, "": false,
	} {
		if got := ConsumerLawApplies(country); got != want {
			t.Errorf("ConsumerLawApplies(%q) = %v, want %v", country, got, want)
		}
	}
}
