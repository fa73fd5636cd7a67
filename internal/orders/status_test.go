package orders

import (
	"testing"
	"time"

	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

// paidStatus is the status a balance checkout writes with the order: it
// must be what statusFor says once deliverAtOnce has delivered the digital
// lines (Place refuses to commit otherwise).
func TestPaidStatus(t *testing.T) {
	digital := Line{Kind: catalog.KindDigital, Quantity: 1}
	digitalTwo := Line{Kind: catalog.KindDigital, Quantity: 2}
	service := Line{Kind: catalog.KindService, Quantity: 100}
	for _, tc := range []struct {
		name  string
		lines []Line
		want  string
	}{
		{"one service", []Line{service}, StatusProcessing},
		{"one digital", []Line{digital}, StatusCompleted},
		{"digital lines only", []Line{digital, digitalTwo}, StatusCompleted},
		{"digital and service", []Line{digitalTwo, service}, StatusPartial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := paidStatus(tc.lines); got != tc.want {
				t.Errorf("paidStatus = %s, want %s", got, tc.want)
			}
			for _, l := range tc.lines {
				if l.Delivered != 0 {
					t.Fatal("paidStatus changed the caller's lines")
				}
			}
		})
	}
}

// An order is overdue only while the store owes its delivery: one not paid
// yet, canceled unpaid or refunded in full is never late, whatever its
// lines' processing time says.
func TestOverdueOnlyWhileDeliveryIsOwed(t *testing.T) {
	due := time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)
	late := Line{Kind: catalog.KindService, Quantity: 100, Delivered: 40, ProcessingUntil: due}
	after := due.Add(time.Minute)
	for status, want := range map[string]bool{
		StatusPaid: true, StatusProcessing: true, StatusPartial: true,
		StatusPendingPayment: false, StatusCanceled: false, StatusRefunded: false, StatusCompleted: false,
	} {
		o := Order{Status: status, Lines: []Line{late}}
		if got := o.Overdue(after); got != want {
			t.Errorf("%s order after its processing time: Overdue = %v, want %v", status, got, want)
		}
		if got := o.LineOverdue(late, after); got != want {
			t.Errorf("%s order after its processing time: LineOverdue = %v, want %v", status, got, want)
		}
		if o.Overdue(due) {
			t.Errorf("%s order at its processing time: overdue", status)
		}
	}
}

// A settled line (its rest refunded, withdrawn from or exchanged) owes
// nothing more: the order's status counts it as what it delivered.
func TestStatusCountsSettledLinesAsDone(t *testing.T) {
	at := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	line := func(q, d int, settled bool) Line {
		l := Line{Kind: catalog.KindService, Quantity: q, Delivered: d}
		if settled {
			l.SettledAt = at
		}
		return l
	}
	// A line whose 10.00 were not paid back (its card refund failed).
	unpaid := func(l Line) Line {
		l.Amount, l.Refunded = money.MustNew(1000, "EUR"), money.Zero("EUR")
		return l
	}
	for _, tc := range []struct {
		name  string
		lines []Line
		want  string
	}{
		{"partly delivered, owed", []Line{line(100, 40, false)}, StatusPartial},
		{"partly delivered, settled", []Line{line(100, 40, true)}, StatusCompleted},
		{"settled beside one delivered", []Line{line(10, 10, false), line(100, 40, true)}, StatusCompleted},
		{"settled beside one owed", []Line{line(10, 0, false), line(100, 40, true)}, StatusPartial},
		{"settled with nothing delivered beside one owed", []Line{line(10, 0, false), line(100, 0, true)}, StatusProcessing},
		{"settled with nothing delivered beside one delivered", []Line{line(10, 10, false), line(100, 0, true)}, StatusCompleted},
		{"all settled, nothing delivered", []Line{line(100, 0, true)}, StatusRefunded},
		{"all settled, nothing delivered, its refund released", []Line{unpaid(line(100, 0, true))}, StatusProcessing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := statusFor(tc.lines); got != tc.want {
				t.Errorf("statusFor = %s, want %s", got, tc.want)
			}
		})
	}
}
