package policy

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	// The policy's time zone must load on every machine the binary runs on,
	// including minimal containers without /usr/share/zoneinfo: a refund
	// window must not depend on what the host happens to have installed.
	_ "time/tzdata"
)

// Kind is a claim kind.
type Kind string

// The claim kinds of POLICY.md.
const (
	NonDelivery        Kind = "non_delivery"
	NotAsDescribed     Kind = "not_as_described"
	SubscriptionCancel Kind = "subscription_cancel"
	Dissatisfied       Kind = "dissatisfied"
	Withdrawal         Kind = "withdrawal"
)

// Kinds lists every claim kind, in the order documents and messages use.
var Kinds = []Kind{NonDelivery, NotAsDescribed, SubscriptionCancel, Dissatisfied, Withdrawal}

// index returns k's position in Kinds, or -1 for an unknown kind.
func (k Kind) index() int {
	for i, kk := range Kinds {
		if kk == k {
			return i
		}
	}
	return -1
}

// Law is the law a policy sells under.
type Law string

const (
	// LawEU applies the EU consumer floors (withdrawal, 2-year liability
	// for digital content and services) to consumers.
	LawEU Law = "eu"
	// LawNone applies the store's rules alone.
	LawNone Law = "none"
)

// Counting says how a window is counted.
type Counting string

const (
	// Exact: in time when filed_at <= anchor + window (7 days = 168 h).
	Exact Counting = "exact"
	// Calendar: the anchor's day is not counted and the window ends at
	// 23:59:59.999 local time (policy time zone) of the anchor's local
	// date + N days.
	Calendar Counting = "calendar"
)

// Remedy is what a non-delivery claim gets once its processing time has
// passed.
type Remedy string

const (
	// RemedyRefund refunds the undelivered part at once.
	RemedyRefund Remedy = "refund"
	// RemedyRedeliver sends the line back to processing first.
	RemedyRedeliver Remedy = "redeliver"
)

// Window is how long after its anchor a claim is in time.
type Window struct {
	Counting Counting
	// Length is the window for Exact counting.
	Length time.Duration
	// Days is the number of calendar days for Calendar counting.
	Days int
}

// end returns the last instant at which a claim anchored at anchor is in
// time (filed_at <= end).
func (w Window) end(anchor time.Time, loc *time.Location) time.Time {
	if w.Counting == Calendar {
		return endOfDay(anchor, w.Days, loc)
	}
	return anchor.Add(w.Length)
}

// endOfDay returns 23:59:59.999 local time of t's local date + days. Using
// time.Date on the local date (rather than adding 24 h per day) is what
// keeps the answer right across a DST change: the day of the change has 23
// or 25 hours, and the deadline must still fall at the end of the local day.
func endOfDay(t time.Time, days int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+days, 23, 59, 59, 999_000_000, loc)
}

// KindRule is a policy's rule for one claim kind.
type KindRule struct {
	Enabled bool
	Window  Window
	// Remedy is used by non_delivery only.
	Remedy Remedy
}

// Policy is a parsed, validated policy document. It is immutable: Evaluate
// may be called on one Policy from many goroutines.
type Policy struct {
	Name    string
	Version int64
	Law     Law
	// TimeZone is the IANA name of the store's time zone; Location is it
	// loaded. Calendar windows count days there, and reasons show times
	// there.
	TimeZone string
	Location *time.Location
	// Digest is the SHA-256 of the document's bytes, in hex. A published
	// version never changes: storage keeps the digest next to ID() and
	// refuses another document under the same name and version.
	Digest string

	id      string // name@version, computed once
	kinds   [5]KindRule
	wording [numRules][2]template // [rule][langEN|langFR]
	page    [2]page               // [langEN|langFR]
	// missing lists the wording the document did not give (filled from the
	// default policy), for Check.
	missing []string
	source  []byte
}

// ID is the policy's name@version, as decisions and orders record it:
// "default@1".
func (p *Policy) ID() string {
	if p.id != "" {
		return p.id
	}
	return p.Name + "@" + strconv.FormatInt(p.Version, 10)
}

// Kind returns the policy's rule for a claim kind (the zero KindRule,
// disabled, for an unknown kind).
func (p *Policy) Kind(k Kind) KindRule {
	if i := k.index(); i >= 0 {
		return p.kinds[i]
	}
	return KindRule{}
}

// RedeliveryDone returns p as it applies to a non_delivery claim whose
// redelivery this policy offered was already carried out: "redelivery
// first" (RemedyRedeliver) is offered once, so once the new processing time
// has passed with the line still not fully delivered, the claim gets the
// refund of the undelivered part exactly as under RemedyRefund (same rules,
// same wording, same version). p itself is unchanged (a Policy is
// immutable); for a policy whose remedy is already refund, p is returned.
func (p *Policy) RedeliveryDone() *Policy {
	i := NonDelivery.index()
	if p.kinds[i].Remedy != RemedyRedeliver {
		return p
	}
	q := *p
	q.kinds[i].Remedy = RemedyRefund
	return &q
}

// Source returns the document the policy was parsed from, byte for byte
// (what Digest is computed on). The caller must not modify it.
func (p *Policy) Source() []byte { return p.source }

//go:embed default.toml
var defaultTOML []byte

//go:embed default2.toml
var default2TOML []byte

// DefaultDocument returns the built-in default policy document
// (default.toml, default@1), for a store that wants to start its own from
// it.
func DefaultDocument() []byte {
	return append([]byte(nil), defaultTOML...)
}

// Default returns the built-in default policy, default@1: POLICY.md's rules
// as data, what `comptoir policy eval` decides under without --policy and
// what a store puts in force until it chooses another version. It is parsed
// once and shared (a Policy is immutable), and never changes: default@1 is
// published, and orders accepted under it are decided under it.
func Default() *Policy { return defaultPolicy() }

// Builtins returns the built-in policy versions, oldest first: default@1
// (Default) and default@2, default@1's rules with its wording corrected
// (counts that agree with their number, the 24–48 hour answer promise, the
// consumer's withdrawal from a subscription on the page). Each is published
// in every store by a migration; default@2 is offered, never put in force
// by itself.
func Builtins() []*Policy { return builtins() }

// Builtin returns the built-in version of that ID ("default@2"), if any.
func Builtin(id string) (*Policy, bool) {
	for _, p := range builtins() {
		if p.ID() == id {
			return p, true
		}
	}
	return nil, false
}

// VersionNumber is the number of a versioned document's ID ("default@2",
// "terms@2": "2"): emails name the version a customer accepted by it, as
// pages do beside its title and date (two versions may be published the
// same day). It is "" when id has none.
func VersionNumber(id string) string {
	i := strings.LastIndexByte(id, '@')
	if i < 0 {
		return ""
	}
	return id[i+1:]
}

// Newest returns the newest built-in version, the one a store is offered.
func Newest() *Policy {
	all := builtins()
	return all[len(all)-1]
}

// defaultPolicy parses default.toml once. A broken default.toml is a build
// defect that the package tests catch, so it panics rather than return an
// error every caller would have to handle.
var defaultPolicy = sync.OnceValue(func() *Policy { return mustParseBuiltin("default.toml", defaultTOML) })

var builtins = sync.OnceValue(func() []*Policy {
	return []*Policy{defaultPolicy(), mustParseBuiltin("default2.toml", default2TOML)}
})

func mustParseBuiltin(file string, doc []byte) *Policy {
	p, err := parse(doc)
	if err != nil {
		panic(fmt.Sprintf("policy: the built-in %s is invalid: %v", file, err))
	}
	if len(p.missing) > 0 {
		panic(fmt.Sprintf("policy: the built-in %s lacks wording for %v", file, p.missing))
	}
	return p
}
