package privacy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/privacy"
)

// An account made before look-alike addresses were refused keeps its
// address: here "Kate@…" written with the Kelvin sign (U+212A), its guest
// ticket and the mail sent to it stored as they were. PostgreSQL's
// lower() makes the Kelvin sign "k", and db.LowerIn matched lower(col),
// so kate@…'s export held the look-alike's ticket and mail and her
// erasure blanked them; the look-alike's own, found by Go's lower case
// ("kate@…"), were Kate's. Each address now reaches only its own, on both
// engines (account.SameEmail's rule).
func TestExportAndErasureLeaveTheLookalikesDataAlone(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	const kate, kelvin = "kate.kelv@example.org", "\u212Aate.kelv@example.org"
	const kateSaid, kelvinSaid = "KateOwnWords", "KelvinOwnWords"

	signUp := func(email string) account.User {
		u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: email, Password: apptest.Password, Name: "K",
			Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
		if err != nil {
			t.Fatal(err)
		}
		proveAddress(t, h, email)
		return u
	}
	// Kate wrote as a guest before she signed up: the mail sent to her
	// then is the address's, no account's.
	writeAsGuest(t, h, kate, kateSaid)
	k := signUp(kate)
	// The look-alike's account, ticket and mail, stored directly: the
	// store refuses such an address now.
	const tmp = "kelvin.tmp@example.org"
	l := signUp(tmp)
	writeAsGuest(t, h, tmp, kelvinSaid)
	for q, args := range map[string][]any{
		`UPDATE users SET email = $1 WHERE id = $2`:                        {kelvin, l.ID},
		`UPDATE tickets SET customer_email = $1 WHERE customer_email = $2`: {kelvin, tmp},
		`UPDATE outgoing_mail SET to_addr = $1 WHERE to_addr = $2`:         {kelvin, tmp},
	} {
		if _, err := d.Write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	export := func(u account.User) string {
		t.Helper()
		r := h.NewClient(t).Send(http.MethodGet, "/api/v1/me/export", "", nil, h.Bearer(t, u.ID))
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d %s", r.Status, r.Body)
		}
		return r.Body
	}
	if body := export(k); !strings.Contains(body, kateSaid) || strings.Contains(body, kelvinSaid) || strings.Contains(body, kelvin) {
		t.Errorf("kate's export: has her words %v, the look-alike's words %v, its address %v; want hers only",
			strings.Contains(body, kateSaid), strings.Contains(body, kelvinSaid), strings.Contains(body, kelvin))
	}
	if body := export(l); !strings.Contains(body, kelvinSaid) || strings.Contains(body, kateSaid) || strings.Contains(body, kate) {
		t.Errorf("the look-alike's export: has its words %v, kate's %v, her address %v; want its own only",
			strings.Contains(body, kelvinSaid), strings.Contains(body, kateSaid), strings.Contains(body, kate))
	}

	if _, err := h.App.Privacy.Erase(ctx, k.ID, audit.Actor{ID: k.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_messages WHERE body_text = $1`, kelvinSaid); n != 1 {
		t.Errorf("kate's erasure blanked the look-alike's ticket: %d left", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE to_addr = $1`, kelvin); n == 0 {
		t.Error("kate's erasure blanked the mail sent to the look-alike")
	}
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_messages WHERE body_text = $1`, kateSaid); n != 0 {
		t.Errorf("kate's own ticket survived her erasure: %d", n)
	}
	if _, err := h.App.Privacy.Erase(ctx, l.ID, audit.Actor{ID: l.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_messages WHERE body_text = $1`, kelvinSaid); n != 0 {
		t.Errorf("the look-alike's ticket survived its erasure: %d", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE to_addr = $1`, kelvin); n != 0 {
		t.Errorf("mail to the look-alike survived its erasure: %d", n)
	}
}
