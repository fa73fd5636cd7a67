package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Warning is something a store should know about its policy that does not
// make it invalid: mostly where it promises less than the law, in which case
// comptoir applies the law anyway and the warning says so.
//
// Msg is in English, as `comptoir policy check` prints it; Code and Arg say
// the same for a page in another language (Localize).
type Warning struct {
	Line int // 0 when the key is absent from the document
	Path string
	Msg  string
	Code string
	Arg  Args
}

func (w Warning) String() string {
	var b strings.Builder
	if w.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(w.Line))
		b.WriteString(": ")
	}
	if w.Path != "" {
		b.WriteString(w.Path)
		b.WriteString(": ")
	}
	b.WriteString(w.Msg)
	return b.String()
}

// Check returns p's warnings, in document order of the keys they are about
// (absent keys last).
func Check(p *Policy) []Warning {
	loc := locator{src: string(p.source)}
	var ws []Warning
	add := func(path, code string, arg Args, format string, args ...any) {
		ws = append(ws, Warning{Line: loc.line(strings.Split(path, ".")), Path: path, Msg: fmt.Sprintf(format, args...), Code: code, Arg: arg})
	}
	if def, ok := Builtin(p.ID()); ok && p.Digest != def.Digest {
		add("version", CodeBuiltinChanged, Args{Name: def.ID()}, "%s is the built-in policy, and a published version never changes: give this document another name or a new version", def.ID())
	}
	if p.Law == LawEU {
		w := p.Kind(Withdrawal)
		switch {
		case !w.Enabled:
			add("kinds.withdrawal.enabled", CodeWithdrawalOff, Args{Number: withdrawalDays}, "withdrawal is disabled, but EU consumers keep their right of withdrawal for %d calendar days after the order (Directive 2011/83/EU art. 9); comptoir applies it to them anyway", withdrawalDays)
		case w.Window.Counting == Calendar && w.Window.Days < withdrawalDays:
			add("kinds.withdrawal.window", CodeWithdrawalShort, Args{Number: int64(w.Window.Days), Max: withdrawalDays}, "%d calendar days is shorter than the %d calendar days EU consumers have to withdraw (Directive 2011/83/EU art. 9); comptoir applies the %d days to them", w.Window.Days, withdrawalDays, withdrawalDays)
		case w.Window.Counting == Exact && w.Window.Length < (withdrawalDays+1)*24*time.Hour:
			// Counted exactly from the order time, a window ends before the
			// end of the 14th calendar day unless it is at least 15 days.
			add("kinds.withdrawal.window", CodeWithdrawalExact, Args{Span: w.Window.Length, Number: withdrawalDays}, "an exact window of %s can end before the %d calendar days EU consumers have to withdraw (the order day not counted); use counting = \"calendar\"; comptoir applies the %d calendar days to them", spanText(w.Window.Length), withdrawalDays, withdrawalDays)
		}
		nad := p.Kind(NotAsDescribed)
		liability := 730 * 24 * time.Hour
		switch {
		case !nad.Enabled:
			add("kinds.not_as_described.enabled", CodeLiabilityOff, Args{Number: liabilityYears}, "not_as_described is disabled, but for EU consumers the trader is liable for digital content and services for at least %d years (Directive 2019/770); comptoir still takes their claims within %d years of payment", liabilityYears, liabilityYears)
		case nad.Window.Length < liability:
			add("kinds.not_as_described.window", CodeLiabilityShort, Args{Span: nad.Window.Length, Number: liabilityYears}, "%s is shorter than the %d years of liability for digital content and services owed to EU consumers (Directive 2019/770); comptoir takes their claims filed later, within %d years of payment, as statutory", spanText(nad.Window.Length), liabilityYears, liabilityYears)
		}
	} else {
		add("law", CodeLawNone, Args{}, "law = \"none\": comptoir applies no statutory floor (no right of withdrawal, no 2-year liability); where consumer law applies, customers keep those rights whatever the policy says")
	}
	for _, m := range p.missing {
		add(m, CodeWordingMissing, Args{}, "no wording given: customers read the default policy's text for this reason")
	}
	// Stable: document order, then the absent keys in the order added.
	sortWarnings(ws)
	return ws
}

func spanText(d time.Duration) string {
	var b strings.Builder
	writeSpan(&b, d, langEN, true)
	return b.String()
}

func sortWarnings(ws []Warning) {
	// Insertion sort: a handful of warnings, and it is stable.
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && less(ws[j], ws[j-1]); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

func less(a, b Warning) bool {
	switch {
	case a.Line == 0:
		return false
	case b.Line == 0:
		return true
	}
	return a.Line < b.Line
}
