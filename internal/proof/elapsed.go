package proof

import "time"

// Units of a rounded elapsed time; each is a plural message "proof.ago.<unit>".
const (
	UnitMinutes = "minutes"
	UnitHours   = "hours"
	UnitDays    = "days"
)

// Rounded turns an exact elapsed time into what a notice says: minutes to
// the nearest five (at least five) below 50 minutes, then hours to the
// nearest hour, then days to the nearest day, the wording saying "about".
// It is applied to the time since the end of the payment's slot (Grain),
// not since the payment: the rounding of the words alone would change at
// moments that give the payment time away to a visitor who keeps polling.
func Rounded(d time.Duration) (unit string, n int) {
	switch {
	case d < 50*time.Minute:
		n = int((d+150*time.Second)/(5*time.Minute)) * 5
		return UnitMinutes, max(n, 5)
	case d < 23*time.Hour+30*time.Minute:
		n = int((d + 30*time.Minute) / time.Hour)
		return UnitHours, max(n, 1)
	default:
		n = int((d + 12*time.Hour) / (24 * time.Hour))
		return UnitDays, max(n, 1)
	}
}
