package catalog

import "time"

// Warning codes: stable names the admin pages turn into sentences.
const (
	// WarnProcessingExceedsClaimWindow: the stated processing time is not
	// shorter than the refund policy's non-delivery window. A customer may
	// only claim non-delivery once the processing time has passed, and by
	// then the window has closed: they could never claim in time.
	WarnProcessingExceedsClaimWindow = "processing_exceeds_claim_window"
)

// Warning is advice to the seller about a product that is valid but likely
// a mistake. It never blocks saving.
type Warning struct {
	Code  string
	Field string        // the form field to point at, as in ValidationError
	Limit time.Duration // the bound the field should stay below, for the message
}

// Warnings lists what the seller should know about p under a refund policy
// whose non-delivery claim window is nonDeliveryWindow (7 days in the
// default policy). It is pure, so the policy is passed in rather than read
// here. A window of zero or less means the policy sets none: nothing to
// warn about.
func Warnings(p Product, nonDeliveryWindow time.Duration) []Warning {
	var out []Warning
	if nonDeliveryWindow > 0 && p.ProcessingTime > 0 && p.ProcessingTime >= nonDeliveryWindow {
		out = append(out, Warning{Code: WarnProcessingExceedsClaimWindow, Field: "processing_seconds", Limit: nonDeliveryWindow})
	}
	return out
}
