package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"comptoir/internal/money"
)

// ts parses an RFC 3339 time or fails the test binary: test tables are
// constants.
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func eur(minor int64) *money.Amount {
	a := money.MustNew(minor, "EUR")
	return &a
}

func no() *bool { b := false; return &b }

// kindTables are the default policy's kinds, for documents built in tests.
var kindTables = map[Kind]string{
	NonDelivery:        "enabled = true\nwindow = \"7d\"",
	NotAsDescribed:     "enabled = true\nwindow = \"7d\"",
	SubscriptionCancel: "enabled = true\nwindow = \"7d\"",
	Dissatisfied:       "enabled = true\nwindow = \"7d\"",
	Withdrawal:         "enabled = true\nwindow = \"14d\"\ncounting = \"calendar\"",
}

// testDoc builds a policy document named test@2 under law, with the
// default kinds except those in override (the table's body).
func testDoc(law string, override map[Kind]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name = \"test\"\nversion = 2\nlaw = %q\ntimezone = \"Europe/Paris\"\n", law)
	for _, k := range Kinds {
		body := kindTables[k]
		if o, ok := override[k]; ok {
			body = o
		}
		fmt.Fprintf(&b, "\n[kinds.%s]\n%s\n", k, body)
	}
	b.WriteString(testPage)
	return b.String()
}

// testPage is the page of testDoc's documents, on lines 26–31 (what a test
// appends after a document starts on line 32). It is plain text, without
// {window.*}, so that it stays valid whichever kinds a test disables.
const testPage = "\n[page]\ntitle_en = \"Refunds\"\ntitle_fr = \"Remboursements\"\nen = \"Write to us.\"\nfr = \"Écrivez-nous.\"\n"

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return p
}
