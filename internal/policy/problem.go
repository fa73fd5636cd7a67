package policy

import (
	"fmt"
	"strings"
	"time"
)

// A problem with a document (a ParseError or a Warning) has a stable Code
// and the Args its message is made of, besides its English Msg (the words
// `comptoir policy check` prints). A page in another language words it from
// those: the message catalogs hold "policy.error.<code>" and
// "policy.warning.<code>" in every language, and Localize fills them in.

// Args are the values a problem's message is made of. Only those the
// problem's code uses are set.
type Args struct {
	// Value is a value as written in the document ("7x", "Test", "us").
	Value string
	// Type is the TOML type found where another was wanted (see the Type*
	// constants).
	Type string
	// Name is what the message is about: a rule, a placeholder, a field, a
	// claim kind, a policy version.
	Name string
	// Kind is a claim kind the message names besides Name.
	Kind string
	// List is what is allowed there, as the document spells it,
	// comma-separated.
	List string
	// Number and Max are numbers the message gives (a size and its bound,
	// a number of days, a version).
	Number, Max int64
	// Span is a length of time the message gives (a window).
	Span time.Duration
	// Detail is the TOML reader's own description of a syntax error; it
	// exists in English only.
	Detail string
	// Syntax is the kind of a syntax error (the Syntax* constants), which
	// French words in place of Detail.
	Syntax string
}

// The TOML types a document's value can have, as Args.Type names them.
const (
	TypeString        = "string"
	TypeInteger       = "integer"
	TypeFloat         = "float"
	TypeBoolean       = "boolean"
	TypeDateTime      = "datetime"
	TypeTable         = "table"
	TypeArrayOfTables = "array_of_tables"
	TypeArray         = "array"
	TypeNothing       = "nothing"
	TypeOther         = "other"
)

// The codes of ParseError. Each has a message "policy.error.<code>" in every
// language of the catalogs.
const (
	CodeTooLarge           = "too_large"
	CodeNotUTF8            = "not_utf8"
	CodeSyntax             = "syntax"
	CodeUnknownKey         = "unknown_key"
	CodeUnknownKind        = "unknown_kind"
	CodeUnknownKindKey     = "unknown_kind_key"
	CodeUnknownRule        = "unknown_rule"
	CodeUnknownRuleGroup   = "unknown_rule_group"
	CodeUnknownLanguage    = "unknown_language"
	CodeUnknownPageKey     = "unknown_page_key"
	CodeNotTable           = "not_table"
	CodeNotString          = "not_string"
	CodeNotBoolean         = "not_boolean"
	CodeNotInteger         = "not_integer"
	CodeMissing            = "missing"
	CodeEmpty              = "empty"
	CodeBadName            = "bad_name"
	CodeBadVersion         = "bad_version"
	CodeBadLaw             = "bad_law"
	CodeBadTimeZone        = "bad_timezone"
	CodeKindMissing        = "kind_missing"
	CodeEnabledMissing     = "enabled_missing"
	CodeBadCounting        = "bad_counting"
	CodeWindowMissing      = "window_missing"
	CodeBadWindow          = "bad_window"
	CodeWindowEmpty        = "window_empty"
	CodeWindowTooLong      = "window_too_long"
	CodeCalendarDays       = "calendar_days"
	CodeBadRemedy          = "bad_remedy"
	CodeUnclosedBrace      = "unclosed_brace"
	CodeUnknownField       = "unknown_field"
	CodeUnavailableField   = "unavailable_field"
	CodeBadPlural          = "bad_plural"
	CodePluralNotCount     = "plural_not_count"
	CodePluralOther        = "plural_other_missing"
	CodePageMissing        = "page_missing"
	CodePageTextMissing    = "page_text_missing"
	CodeMultiLine          = "multi_line"
	CodeBadPlaceholder     = "bad_placeholder"
	CodeNoWithdrawal       = "no_withdrawal"
	CodeKindDisabled       = "kind_disabled"
	CodeBuiltinChanged     = "builtin_changed"         // a Warning
	CodeWithdrawalOff      = "withdrawal_disabled"     // a Warning
	CodeWithdrawalShort    = "withdrawal_short"        // a Warning
	CodeWithdrawalExact    = "withdrawal_exact"        // a Warning
	CodeLiabilityOff       = "liability_disabled"      // a Warning
	CodeLiabilityShort     = "liability_short"         // a Warning
	CodeLawNone            = "law_none"                // a Warning
	CodeWordingMissing     = "wording_missing"         // a Warning
	CodeVersionBelowLatest = "version_below_published" // a Warning (policystore)
)

// ErrorCodes are the codes a ParseError can have; WarningCodes those of a
// Warning.
var (
	ErrorCodes = []string{CodeTooLarge, CodeNotUTF8, CodeSyntax, CodeUnknownKey, CodeUnknownKind,
		CodeUnknownKindKey, CodeUnknownRule, CodeUnknownRuleGroup, CodeUnknownLanguage, CodeUnknownPageKey,
		CodeNotTable, CodeNotString, CodeNotBoolean, CodeNotInteger, CodeMissing, CodeEmpty, CodeBadName,
		CodeBadVersion, CodeBadLaw, CodeBadTimeZone, CodeKindMissing, CodeEnabledMissing, CodeBadCounting,
		CodeWindowMissing, CodeBadWindow, CodeWindowEmpty, CodeWindowTooLong, CodeCalendarDays, CodeBadRemedy,
		CodeUnclosedBrace, CodeUnknownField, CodeUnavailableField, CodeBadPlural, CodePluralNotCount, CodePluralOther, CodePageMissing, CodePageTextMissing,
		CodeMultiLine, CodeBadPlaceholder, CodeNoWithdrawal, CodeKindDisabled}
	WarningCodes = []string{CodeBuiltinChanged, CodeWithdrawalOff, CodeWithdrawalShort, CodeWithdrawalExact,
		CodeLiabilityOff, CodeLiabilityShort, CodeLawNone, CodeWordingMissing, CodeVersionBelowLatest}
	// Types are the values of Args.Type; each has a message "policy.type.<type>".
	Types = []string{TypeString, TypeInteger, TypeFloat, TypeBoolean, TypeDateTime, TypeTable,
		TypeArrayOfTables, TypeArray, TypeNothing, TypeOther}
)

// Translator returns the message id in the caller's language, filled with
// data (locale.Catalog.T for one language).
type Translator func(id string, data map[string]any) string

// Localize words the error in the language of t and lang (its code's
// message "policy.error.<code>"), without the line and key that Error puts
// before it. In English it is Msg.
func (e *ParseError) Localize(lang string, t Translator) string {
	return localize("policy.error."+e.Code, e.Arg, lang, t)
}

// Localize words the warning as ParseError.Localize does an error, from
// "policy.warning.<code>".
func (w Warning) Localize(lang string, t Translator) string {
	return localize("policy.warning."+w.Code, w.Arg, lang, t)
}

func localize(id string, a Args, lang string, t Translator) string {
	data := map[string]any{
		"Value": a.Value, "Name": a.Name, "Kind": a.Kind, "List": a.List,
		"Number": a.Number, "Max": a.Max, "Detail": a.Detail, "Type": "",
	}
	if a.Syntax != "" && isFrench(lang) {
		// The TOML reader's English is kept in English; another
		// language says which kind of mistake it is.
		data["Detail"] = t("policy.syntax."+a.Syntax, nil)
	}
	if a.Type != "" {
		data["Type"] = t("policy.type."+a.Type, nil)
	}
	l := langEN
	if isFrench(lang) {
		l = langFR
	}
	var b strings.Builder
	writeSpan(&b, a.Span, l, true)
	data["Span"] = b.String()
	return t(id, data)
}

// coded is an error on its way to a ParseError: the helpers that check one
// value (a window, a time zone, a wording) know the code, their caller the
// key.
type coded struct {
	code string
	arg  Args
	msg  string
}

func (c *coded) Error() string { return c.msg }

func problem(code string, arg Args, format string, args ...any) *coded {
	return &coded{code: code, arg: arg, msg: fmt.Sprintf(format, args...)}
}

// typeOf names a TOML value's type for Args.Type.
func typeOf(v any) string {
	switch v.(type) {
	case string:
		return TypeString
	case int64:
		return TypeInteger
	case float64:
		return TypeFloat
	case bool:
		return TypeBoolean
	case time.Time:
		return TypeDateTime
	case map[string]any:
		return TypeTable
	case []map[string]any:
		return TypeArrayOfTables
	case []any:
		return TypeArray
	case nil:
		return TypeNothing
	default:
		return TypeOther
	}
}
