package account_test

import (
	"errors"
	"testing"

	"comptoir/internal/account"
)

// What reads as another address is refused; addresses written in one
// script, accents and all, are not.
func TestConfusableEmails(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		email string
		want  bool
	}{
		{"kate@x.fr", false},
		{"Kate.Martin+shop@x.fr", false},
		{"zoë@x.fr", false},
		{"ZOË@Exemple.fr", false},
		{"почта@пример.рф", false}, // Cyrillic alone, not all look-alikes
		{"山田@例え.jp", false},
		{"ελένη@x.gr", false},
		{"ipek@x.tr", false},

		{"\u212Aate@x.fr", true},                          // the Kelvin sign K
		{"ka\u0308te@x.fr", true},                         // a decomposed ä
		{"ｋａｔｅ@x.fr", true},                               // fullwidth
		{"\ufb01le@x.fr", true},                           // the ﬁ ligature
		{"\u0130pek@x.tr", true},                          // İ, whose lower case is i
		{"\u0131pek@x.tr", true},                          // ı, whose upper case is I
		{"kate\u200b@x.fr", true},                         // a zero-width space
		{"kate\u00ad@x.fr", true},                         // a soft hyphen
		{"k\u0430te@x.fr", true},                          // a Cyrillic а among Latin letters
		{"kate@x\u0430mple.fr", true},                     // the same in the domain
		{"\u0441\u043e\u0440\u0430@x.fr", true},           // "сора", all Cyrillic, reads "copa"
		{"kate@\u0430\u0440\u0440\u04cf\u0435.com", true}, // "аррӏе", reads "apple"
		{"\u03bf\u03bd\u03bf@x.gr", true},                 // "ονο", all Greek, reads "ovo"
	} {
		if got := account.Confusable(tt.email); got != tt.want {
			t.Errorf("Confusable(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
}

// The Kelvin sign K lowers to "k": "\u212Aate@x.fr" had kate@x.fr's
// email key, so its sign-up took that key (kate could no longer sign up,
// her reset requests reached the other account), and a look-up by it (the
// sender of an inbound mail, a sign-in) found kate's account. A Cyrillic
// "а" made a second account that reads exactly as kate's. Now both are
// refused at sign-up (email_confusable) and a look-alike finds nobody.
func TestLookalikeEmailsMakeNoAccountAndFindNone(t *testing.T) {
	t.Parallel()
	e := setup(t)
	kelvin, cyrillic := "\u212Aate@x.fr", "k\u0430te@x.fr"
	for _, email := range []string{kelvin, cyrillic} {
		in := validSignUp()
		in.Email = email
		_, err := e.svc.SignUp(e.ctx, in)
		if got := fieldsOf(t, err); got["email"] != account.CodeEmailConfusable {
			t.Errorf("SignUp(%q): %v, want email_confusable", email, got)
		}
		if _, err := e.svc.CreateUser(e.ctx, account.CreateUserInput{Email: email, Role: account.RoleAgent, Password: "0123456789"}); fieldsOf(t, err)["email"] != account.CodeEmailConfusable {
			t.Errorf("CreateUser(%q): %v, want email_confusable", email, err)
		}
	}
	kate := e.signUp(t, "Kate@x.fr")
	for _, email := range []string{kelvin, "\u212AATE@X.FR"} {
		if u, err := e.svc.UserByEmail(e.ctx, email); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("UserByEmail(%q) = %s, %v: want ErrNotFound", email, u.Email, err)
		}
		if u, err := e.svc.Authenticate(e.ctx, email, "correct horse"); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Errorf("Authenticate(%q) = %s, %v: want ErrInvalidCredentials", email, u.Email, err)
		}
	}
	for _, email := range []string{"kate@x.fr", "KATE@X.FR", " Kate@x.fr "} {
		if u, err := e.svc.UserByEmail(e.ctx, email); err != nil || u.ID != kate.ID {
			t.Errorf("UserByEmail(%q) = %s, %v: want kate's", email, u.ID, err)
		}
		if u, err := e.svc.Authenticate(e.ctx, email, "correct horse"); err != nil || u.ID != kate.ID {
			t.Errorf("Authenticate(%q) = %s, %v: want kate's", email, u.ID, err)
		}
	}
	if !account.SameEmail("Zoë@X.fr", "zoË@x.FR") || account.SameEmail(kelvin, "kate@x.fr") || account.SameEmail("\u0130pek@x.tr", "ipek@x.tr") {
		t.Error("SameEmail: case of letters only")
	}
}
