package mail_test

import (
	"strings"
	"testing"

	"comptoir/internal/mail"
)

// endLine ends a body with exactly one line break, as TrimRight then "\n"
// did, returning the body itself when it already ends so.
func TestEndLineIsTrimRightAndALineBreak(t *testing.T) {
	for _, s := range []string{"", "\n", " ", "a", "a\n", "a\n\n", "a \t\n", "a\n \n", "a \n\t", "a\t", "é\n\n\n", "a\nb\n", " \t\n"} {
		want := strings.TrimRight(s, " \t\n") + "\n"
		if got := mail.EndLine(s); got != want {
			t.Errorf("EndLine(%q) = %q, want %q", s, got, want)
		}
	}
}

// Regression guard (issue #9): every checkout renders its confirmation.
// The body's buffer starts at the size of the last body of its template
// instead of doubling from nothing, and the trimmed body is not copied
// again: 83 allocations before, 73 after.
func TestRenderConfirmationAllocations(t *testing.T) {
	data := confirmationData()
	want, wantText, err := mail.Render("fr", "order_confirmation", data)
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(50, func() {
		subject, text, err := mail.Render("fr", "order_confirmation", data)
		if err != nil || subject != want || text != wantText {
			t.Fatalf("render changed: %v", err)
		}
	})
	if n > 76 {
		t.Errorf("Render of an order confirmation: %v allocations, want at most 76 (83 before the buffer was sized)", n)
	}
}
