package claims

import (
	"time"

	"comptoir/internal/catalog"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// statutoryWithdrawalDays is the EU right of withdrawal: 14 calendar days
// after the order, the order day not counted (Directive 2011/83/EU art. 9).
const statutoryWithdrawalDays = 14

// WithdrawalDeadline is the last instant a withdrawal from an order placed
// at placedAt is in time under p (nil: the default policy), computed as the
// policy engine does: 14 calendar days in the policy's time zone, the order
// day not counted, ending at 23:59:59.999 local time, or the policy's own
// withdrawal window when it is longer. Zero when p sells without the EU
// right (law "none").
//
// The engine keeps its window arithmetic unexported; this mirrors it for
// the pages (the button), and a test checks the two agree on each side of
// the deadline.
func WithdrawalDeadline(p *policy.Policy, placedAt time.Time) time.Time {
	if p == nil {
		p = policy.Default()
	}
	if p.Law != policy.LawEU {
		return time.Time{}
	}
	deadline := endOfLocalDay(placedAt, statutoryWithdrawalDays, p.Location)
	if kr := p.Kind(policy.Withdrawal); kr.Enabled {
		var own time.Time
		if kr.Window.Counting == policy.Calendar {
			own = endOfLocalDay(placedAt, kr.Window.Days, p.Location)
		} else {
			own = placedAt.Add(kr.Window.Length)
		}
		if own.After(deadline) {
			deadline = own
		}
	}
	return deadline
}

// endOfLocalDay is 23:59:59.999 local time on t's local date + days.
// time.Date on the local date, rather than adding 24 h per day, keeps it
// right across a change to or from summer time.
func endOfLocalDay(t time.Time, days int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+days, 23, 59, 59, 999_000_000, loc)
}

// WithdrawalEnded reports whether the right of withdrawal from line l has
// ended with its supply, as the policy engine decides (withdrawal.
// service_performed, withdrawal.digital_supply_begun): a service the
// consumer asked to start at once, fully performed; digital content whose
// supply began after they asked for it at once and acknowledged losing the
// right. c is the order's consent.
func WithdrawalEnded(l orders.Line, c orders.Consent) bool {
	switch l.Kind {
	case catalog.KindService:
		return c.ImmediatePerformance && l.Delivered >= l.Quantity
	case catalog.KindDigital:
		return c.ImmediatePerformance && c.WithdrawalWaiver && l.Delivered > 0
	}
	return false
}

// WithdrawalOpen reports whether the withdrawal button shows on an order
// page at now under the default policy: the order is paid, not entirely
// refunded, and its withdrawal period has not ended. Whether the customer
// is a consumer (business customers have no such right) is the page's to
// check; the decision itself always comes from the policy.
func WithdrawalOpen(o orders.Order, now time.Time) bool {
	return WithdrawalOpenUnder(nil, o, now)
}

// Why withdrawal from an order is closed (WithdrawalClosedUnder).
const (
	WithdrawalNotPaid    = "not_paid"    // not paid, or canceled
	WithdrawalRefunded   = "refunded"    // refunded in full
	WithdrawalPeriodOver = "period_over" // its period has ended
	WithdrawalNoRight    = "no_right"    // the policy gives no period
)

// WithdrawalOpenUnder is WithdrawalOpen under policy p, the version the
// order's customer accepted (nil: the default policy).
func WithdrawalOpenUnder(p *policy.Policy, o orders.Order, now time.Time) bool {
	why, _ := WithdrawalClosedUnder(p, o, now)
	return why == ""
}

// WithdrawalClosedUnder says why the withdrawal button does not show on
// o's page at now under policy p (one of the Withdrawal… reasons, "" while
// it shows), with the period's end under p (zero if none), for a page that
// says when it ended.
func WithdrawalClosedUnder(p *policy.Policy, o orders.Order, now time.Time) (why string, deadline time.Time) {
	switch {
	case o.PaidAt.IsZero() || o.Status == orders.StatusCanceled:
		return WithdrawalNotPaid, time.Time{}
	case o.Status == orders.StatusRefunded:
		return WithdrawalRefunded, time.Time{}
	}
	deadline = WithdrawalDeadline(p, o.PlacedAt)
	switch {
	case deadline.IsZero():
		return WithdrawalNoRight, deadline
	case now.After(deadline):
		return WithdrawalPeriodOver, deadline
	}
	return "", deadline
}

// WithdrawalOpen is WithdrawalOpenUnder the policy version the order's
// customer accepted. A version this store cannot load falls back to the
// default policy: the statutory 14 days apply whatever the store's rules.
func (s *Service) WithdrawalOpen(o orders.Order, now time.Time) bool {
	why, _ := s.WithdrawalClosed(o, now)
	return why == ""
}

// WithdrawalClosed is WithdrawalClosedUnder the policy version the
// order's customer accepted (the default policy when this store cannot
// load it, as WithdrawalOpen).
func (s *Service) WithdrawalClosed(o orders.Order, now time.Time) (why string, deadline time.Time) {
	p, err := s.policy(o.PolicyVersion)
	if err != nil {
		p = nil
	}
	return WithdrawalClosedUnder(p, o, now)
}
