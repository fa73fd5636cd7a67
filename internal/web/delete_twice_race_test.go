package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/testwait"
	"comptoir/internal/web"
)

// The deletion form sent twice at once (a double click): the second
// sending, signed in when it arrived, waited for the first's password
// check (one per address at a time), then checked the password against an
// account the first had just erased: it failed, counted a failed sign-in
// on the erased address (a rate-limit row naming it, which the erasure had
// just deleted) and showed the deletion page again, "wrong password", to
// someone whose account was gone. It now answers as the first did: the
// home page saying the account was erased, in the visitor's language, and
// nothing is counted against the address.
func TestAccountDeletionSentTwiceAtOnceSaysTheAccountWasErased(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			h := apptest.Start(t)
			ctx := context.Background()
			base, _ := url.Parse(h.URL)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			c.PostForm("/lang", url.Values{"lang": {lang}, "next": {"/"}})
			second := h.NewClient(t)
			second.Jar.SetCookies(base, c.Jar.Cookies(base))
			done := html.EscapeString(h.App.Messages.T(lang, "privacy.delete.done"))

			inFirst, resume := make(chan struct{}), make(chan struct{})
			var once sync.Once
			web.SetAfterDeleteCheck(h.App.Web, func() {
				once.Do(func() {
					close(inFirst)
					<-resume
				})
			})
			form := url.Values{"password": {apptest.Password}, "account": {u.ID}}
			first, again := make(chan sent, 1), make(chan sent, 1)
			go func() { first <- postAsync(h, c, "/account/delete", form) }()
			select {
			case <-inFirst:
			case r := <-first:
				t.Fatalf("the first sending ended before its erasure: %d %v %.300s", r.Status, r.err, r.Body)
			case <-time.After(testwait.Default):
				t.Fatal("the first sending never reached its erasure")
			}
			// The second sending, signed in as it arrives, counts its
			// attempt, then waits for the first's turn.
			go func() { again <- postAsync(h, second, "/account/delete", form) }()
			testwait.Until(t, "the second sending past its session check", func() bool {
				hits, _, err := h.App.Limiter.Hits(ctx, "erase:"+u.ID, 15*time.Minute)
				return err == nil && hits >= 2
			})
			close(resume)
			for i, ch := range []chan sent{first, again} {
				r := <-ch
				if r.err != nil {
					t.Fatal(r.err)
				}
				if r.Status != http.StatusSeeOther || r.Location != "/" {
					t.Fatalf("sending %d: %d %q, want the home page: %.500s", i+1, r.Status, r.Location, r.Body)
				}
			}
			mustContain(t, second.Get("/"), `<html lang="`+lang+`"`, done)
			if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != account.ErasedEmail {
				t.Fatalf("not erased: %+v", got)
			}
			var left int
			if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM rate_limits WHERE bucket LIKE $1`,
				"%"+account.EmailKey("ana@example.fr")+"%").Scan(&left); err != nil || left != 0 {
				t.Fatalf("%d rate-limit windows name the erased address (%v)", left, err)
			}
		})
	}
}

// sent is a response read in another goroutine, or why there is none.
type sent struct {
	apptest.Response
	err error
}

// postAsync is c.PostForm for another goroutine than the test's: it
// returns its error instead of failing the test.
func postAsync(h *apptest.Harness, c *apptest.Client, path string, form url.Values) sent {
	req, err := http.NewRequest(http.MethodPost, h.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return sent{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		return sent{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return sent{Response: apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Location: resp.Header.Get("Location")}, err: err}
}
