package benchdata

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"comptoir/internal/eu"
	"comptoir/internal/subscriptions"
)

// planKind is one generated subscription plan.
type planKind struct {
	slug, nameFR, nameEN, interval string
	price                          int64
}

// planKinds: two monthly plans and a yearly one (no weekly plan: a weekly
// subscription two years old would weigh fifty times its share of periods).
var planKinds = []planKind{
	{"monthly", "Suivi mensuel", "Monthly follow-up", subscriptions.IntervalMonth, 900},
	{"monthly-pro", "Suivi mensuel pro", "Monthly follow-up (pro)", subscriptions.IntervalMonth, 2_900},
	{"yearly", "Suivi annuel", "Yearly follow-up", subscriptions.IntervalYear, 9_000},
}

// genSub is a subscription drawn before anything is written: its customer,
// plan and period boundaries (bounds[k], bounds[k+1] is period k, every one
// paid from the balance); the current period is the last one.
type genSub struct {
	cust, plan int
	bounds     []time.Time
	active     bool
	anchor     int
	// endedAt is when an ended subscription stopped (the end of its last
	// period, or within the hour for one canceled at once).
	endedAt time.Time
}

func (s *genSub) spent() int64 {
	return int64(len(s.bounds)-1) * planKinds[s.plan].price
}

// planSubscriptions draws the subscriptions, started evenly over the
// history. Subscription i belongs to customer i mod C on plan (i / C) mod 3,
// so any 3C consecutive ones are on distinct (customer, plan) pairs: the
// schema allows one live subscription per pair. Without Options.Due, one in
// four (among the first 3C) is live, its current period running past now
// (none is due: the server's own renewal scan would charge it); the others
// ran 1 to 6 periods and ended at the end of the last, as a customer who
// canceled for the end of the period. With Options.Due, the last 2×Due are
// live: Due of them due for renewal at now (their current period ended a
// minute or a few before, and its renewal is not charged yet), Due not due
// for hours; all the others ended.
func (l *loader) planSubscriptions() error {
	n := l.sc.Subscriptions
	if n == 0 {
		return nil
	}
	if len(l.custs) == 0 || len(l.plans) != len(planKinds) {
		return fmt.Errorf("subscriptions need customers and plans")
	}
	nc := len(l.custs)
	if l.due > 0 && (2*l.due > n || 2*l.due > 3*nc) {
		return fmt.Errorf("%d due subscriptions need at least %d subscriptions and %d customers", l.due, 2*l.due, (2*l.due+2)/3)
	}
	r := rand.New(rand.NewPCG(l.seed, 3))
	start := l.now.Add(-history)
	l.subs = make([]genSub, n)
	for i := range l.subs {
		s := genSub{cust: i % nc, plan: (i / nc) % len(planKinds)}
		interval := planKinds[s.plan].interval
		at := start.Add(time.Duration(float64(history) * float64(i) / float64(n))).Truncate(time.Second)
		s.anchor = at.Day()
		switch {
		case l.due > 0 && i >= n-2*l.due:
			// Built backwards from the end of the current period, one
			// interval at a time: k < Due ended k+1 minutes ago, the
			// others end in a few hours.
			k := i - (n - 2*l.due)
			end := l.now.Add(-time.Duration(k+1) * time.Minute)
			if k >= l.due {
				end = l.now.Add(time.Duration(k) * time.Hour)
			}
			s.active, s.anchor = true, end.Day()
			periods := 1 + r.IntN(3)
			s.bounds = make([]time.Time, periods+1)
			for p := range s.bounds {
				if interval == subscriptions.IntervalYear {
					s.bounds[p] = end.AddDate(p-periods, 0, 0)
				} else {
					s.bounds[p] = end.AddDate(0, p-periods, 0)
				}
			}
		default:
			s.active = l.due == 0 && i%4 == 0 && i < 3*nc
			periods := 1 + r.IntN(6)
			s.bounds = append(s.bounds, at)
			for {
				next := subscriptions.NextPeriodEnd(s.bounds[len(s.bounds)-1], interval, s.anchor, time.UTC)
				if s.active {
					s.bounds = append(s.bounds, next)
					if next.After(l.now) {
						break
					}
					continue
				}
				if next.After(l.now) || len(s.bounds) > periods {
					break
				}
				s.bounds = append(s.bounds, next)
			}
			s.endedAt = s.bounds[len(s.bounds)-1]
			if len(s.bounds) == 1 {
				// Subscribed too recently to have finished a period: it is
				// live after all if it may be, else it was canceled within
				// the hour (its one period stays paid).
				s.bounds = append(s.bounds, subscriptions.NextPeriodEnd(at, interval, s.anchor, time.UTC))
				s.active = l.due == 0 && i < 3*nc
				s.endedAt = at.Add(time.Hour)
			}
		}
		l.subs[i] = s
	}
	return nil
}

// subsPerTx bounds one transaction of the subscriptions' load.
const subsPerTx = 5_000

// subscriptions writes the subscriptions drawn by planSubscriptions, their
// paid periods and the balance debits that paid them (after the orders'
// debits, so balance_after follows the order the entries are written in).
func (l *loader) subscriptions() error {
	wording := map[string]subscriptions.ConsentText{"fr": subscriptions.ConsentWording("fr"), "en": subscriptions.ConsentWording("en")}
	for lo := 0; lo < len(l.subs); lo += subsPerTx {
		hi := min(lo+subsPerTx, len(l.subs))
		err := l.tx(func(tx *sql.Tx) error {
			ss := l.bulk(tx, "subscriptions", "id", "customer_id", "product_id", "product_revision", "plan_interval", "status",
				"payment_method", "currency", "amount", "policy_version", "lang", "anchor_day", "current_period_start",
				"current_period_end", "cancel_at_period_end", "cancel_requested_at", "canceled_at", "ended_at",
				"consent_required", "immediate_performance", "withdrawal_waiver", "consent_wording_version", "consent_lang",
				"consent_immediate_text", "consent_waiver_text", "consent_at", "consent_ip", "consent_user_agent",
				"created_at", "updated_at")
			ps := l.bulk(tx, "subscription_periods", "id", "subscription_id", "period_start", "period_end", "currency", "amount",
				"payment_method", "policy_version", "status", "attempts", "paid_at", "payment_reference", "created_at",
				"updated_at").dependsOn(ss)
			es := l.entriesBulk(tx)
			for i := lo; i < hi; i++ {
				s := &l.subs[i]
				c, plan := l.custs[s.cust], l.plans[s.plan]
				first, last := s.bounds[0], s.bounds[len(s.bounds)-1]
				cur := s.bounds[len(s.bounds)-2]
				id := l.ids.at("sub", first)
				status, cancel, updated := "active", false, cur
				var requested, canceled, ended any
				if !s.active {
					status, cancel, updated = "canceled", true, s.endedAt
					requested, canceled, ended = maxTime(first, s.endedAt.Add(-72*time.Hour)), s.endedAt, s.endedAt
				}
				w := wording[c.lang]
				required := c.consumer && eu.ConsumerLawApplies(c.country)
				if err := ss.add(id, c.id, plan.ID, 1, plan.interval, status, subscriptions.PayBalance, currency, plan.UnitPrice,
					PolicyVersion, c.lang, s.anchor, cur, last, cancel, requested, canceled, ended,
					required, true, true, subscriptions.ConsentWordingVersion, c.lang, w.Immediate, w.Waiver, first,
					"192.0.2.1", "Mozilla/5.0 (comptoir-bench)", first, updated); err != nil {
					return err
				}
				for k := 0; k+1 < len(s.bounds); k++ {
					pStart, pEnd := s.bounds[k], s.bounds[k+1]
					periodID, entryID := l.ids.at("spd", pStart), l.ids.at("ble", pStart)
					l.running[s.cust] -= plan.UnitPrice
					if err := es.add(entryID, c.id, currency, -plan.UnitPrice, l.running[s.cust], "purchase",
						"subscription_period", periodID, "", nil, pStart); err != nil {
						return err
					}
					if err := ps.add(periodID, id, pStart, pEnd, currency, plan.UnitPrice, subscriptions.PayBalance, PolicyVersion,
						"paid", 1, pStart, entryID, pStart, pStart); err != nil {
						return err
					}
				}
			}
			return l.closeAll(ss, ps, es)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
