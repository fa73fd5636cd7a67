package account_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
)

func TestAPITokens(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ann := e.signUp(t, "ann@x.fr")
	bob := e.signUp(t, "bob@x.fr")

	plain, tok, err := e.svc.CreateToken(e.ctx, ann.ID, " accounting export ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, "cpt_") || len(plain) != 4+43 || !strings.HasPrefix(tok.ID, "tok_") || tok.Name != "accounting export" {
		t.Fatalf("plain %q, token %+v", plain, tok)
	}
	if found := e.search(t, strings.TrimPrefix(plain, "cpt_")); len(found) > 0 {
		t.Fatalf("the token's secret is stored in %v", found)
	}

	u, got, err := e.svc.TokenUser(e.ctx, plain)
	if err != nil || u.ID != ann.ID || got.ID != tok.ID || !got.LastUsedAt.Equal(t0) {
		t.Fatalf("TokenUser = %+v, %+v, %v", u, got, err)
	}
	e.clock.Advance(10 * time.Second)
	if _, got, _ := e.svc.TokenUser(e.ctx, plain); !got.LastUsedAt.Equal(t0) {
		t.Fatalf("last used moved within the minute: %s", got.LastUsedAt)
	}
	e.clock.Advance(time.Minute)
	if _, got, _ := e.svc.TokenUser(e.ctx, plain); !got.LastUsedAt.Equal(t0.Add(70 * time.Second)) {
		t.Fatalf("last used did not move after a minute: %s", got.LastUsedAt)
	}

	for _, bad := range []string{"", "cpt_", plain + "x", strings.TrimPrefix(plain, "cpt_"), strings.Repeat("x", 5000)} {
		if _, _, err := e.svc.TokenUser(e.ctx, bad); !errors.Is(err, account.ErrInvalidToken) {
			t.Errorf("TokenUser(%.20q) = %v, want ErrInvalidToken", bad, err)
		}
	}

	// Only the owner can revoke; then the token stops working for good.
	if err := e.svc.RevokeToken(e.ctx, bob.ID, tok.ID); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("Bob revoking Ann's token: %v, want ErrNotFound", err)
	}
	if _, _, err := e.svc.TokenUser(e.ctx, plain); err != nil {
		t.Fatalf("token died: %v", err)
	}
	if err := e.svc.RevokeToken(e.ctx, ann.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.TokenUser(e.ctx, plain); !errors.Is(err, account.ErrInvalidToken) {
		t.Fatalf("revoked token: %v, want ErrInvalidToken", err)
	}
	if err := e.svc.RevokeToken(e.ctx, ann.ID, tok.ID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if err := e.svc.RevokeToken(e.ctx, ann.ID, "tok_nope"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}

	e.clock.Advance(time.Second)
	plain2, tok2, err := e.svc.CreateToken(e.ctx, ann.ID, "backup")
	if err != nil || plain2 == plain {
		t.Fatal(err)
	}
	list, err := e.svc.ListTokens(e.ctx, ann.ID)
	if err != nil || len(list) != 2 || list[0].ID != tok2.ID || list[0].Revoked() || !list[1].Revoked() || list[1].ID != tok.ID {
		t.Fatalf("ListTokens = %+v, %v", list, err)
	}
	if list, _ := e.svc.ListTokens(e.ctx, bob.ID); len(list) != 0 {
		t.Fatalf("Bob sees tokens %+v", list)
	}
	if got := e.actions(t, ann.ID); !slices.Equal(got, []string{"signup", "token_create", "token_revoke", "token_create"}) {
		t.Fatalf("audit %v", got)
	}
}

func TestCreateTokenValidates(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ann := e.signUp(t, "ann@x.fr")
	for name, want := range map[string]string{"": "required", strings.Repeat("n", 101): "too_long", "a\nb": "invalid_characters"} {
		if _, _, err := e.svc.CreateToken(e.ctx, ann.ID, name); !maps.Equal(fieldsOf(t, err), map[string]string{"name": want}) {
			t.Errorf("CreateToken(%.10q) = %v", name, err)
		}
	}
	if _, _, err := e.svc.CreateToken(e.ctx, "usr_nope", "x"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("CreateToken(unknown user) = %v", err)
	}
}

// BenchmarkTokenUser is the bearer-token lookup every API request makes
// (issue #9: a checkout's request path).
//
//	go test ./internal/account -run '^$' -bench TokenUser -benchmem
func BenchmarkTokenUser(b *testing.B) {
	e := setup(b)
	ann := e.signUp(b, "ann@x.fr")
	plain, _, err := e.svc.CreateToken(e.ctx, ann.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if u, _, err := e.svc.TokenUser(e.ctx, plain); err != nil || u.ID != ann.ID {
			b.Fatalf("TokenUser = %+v, %v", u, err)
		}
	}
}
