package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"comptoir/internal/money"
)

// Facts are what the engine knows about one claim (API.md, "policy eval:
// facts and decision"). The order facts describe the one line the claim is
// about. Absent times are the zero time; absent amounts are nil.
type Facts struct {
	Kind         Kind          `json:"kind"`
	FiledAt      time.Time     `json:"filed_at"`
	Customer     Customer      `json:"customer,omitzero"`
	Order        *Order        `json:"order,omitempty"`
	Subscription *Subscription `json:"subscription,omitempty"`
	Evidence     []Evidence    `json:"evidence,omitempty"`
	// Choice is how a subscription should end: CancelPeriodEnd or
	// CancelNow. Required for subscription_cancel.
	Choice Cancel `json:"choice,omitempty"`
	// RefundRequested is nil when not given, which means true (API.md).
	RefundRequested *bool `json:"refund_requested,omitempty"`
}

// WantsRefund reports whether the customer asked for a refund (the default).
func (f *Facts) WantsRefund() bool { return f.RefundRequested == nil || *f.RefundRequested }

// CustomerType is consumer or business.
type CustomerType string

const (
	Consumer CustomerType = "consumer"
	Business CustomerType = "business"
)

// Customer is who filed the claim.
type Customer struct {
	Type CustomerType `json:"type,omitempty"`
	// Country is an ISO 3166-1 alpha-2 code; informative only, since the
	// policy's law, not the customer's country, decides which floors apply.
	Country string `json:"country,omitempty"`
}

// ProductKind is service or digital (content).
type ProductKind string

const (
	Service ProductKind = "service"
	Digital ProductKind = "digital"
)

// Order is the order line a claim is about.
type Order struct {
	PlacedAt    time.Time     `json:"placed_at,omitzero"`
	PaidAt      time.Time     `json:"paid_at,omitzero"`
	Paid        *money.Amount `json:"paid,omitempty"`
	ProductKind ProductKind   `json:"product_kind,omitempty"`
	// Quantity ordered (0: not given); Delivered so far, per the store's
	// delivery record.
	Quantity  int64 `json:"quantity,omitempty"`
	Delivered int64 `json:"delivered"`
	// Refunded is what was already refunded for the line; nil is nothing.
	Refunded *money.Amount `json:"refunded,omitempty"`
	// ProcessingUntil is the end of the product's stated processing time
	// for this order (zero: the product states none).
	ProcessingUntil time.Time `json:"processing_until,omitzero"`
	// Consent is what the customer ticked at checkout (nil: nothing
	// recorded).
	Consent *Consent `json:"consent,omitempty"`
}

// Consent is the checkout consent record (POLICY.md "Consent at checkout").
type Consent struct {
	// ImmediatePerformance: the express request that a service start (or
	// digital content be supplied) before the withdrawal period ends.
	ImmediatePerformance bool `json:"immediate_performance"`
	// WithdrawalWaiver: the acknowledgement that the right of withdrawal
	// is lost once performed / once supply has begun.
	WithdrawalWaiver bool      `json:"withdrawal_waiver"`
	At               time.Time `json:"at,omitzero"`
}

// Subscription is the subscription a cancellation is about.
type Subscription struct {
	// LastPaymentAt is zero, and LastPayment nil, when nothing was paid
	// yet (a trial).
	LastPaymentAt time.Time     `json:"last_payment_at,omitzero"`
	LastPayment   *money.Amount `json:"last_payment,omitempty"`
	PeriodEnd     time.Time     `json:"period_end,omitzero"`
	// Refunded is what was already refunded of the last payment (an
	// extension of API.md's shape; nil is nothing).
	Refunded *money.Amount `json:"refunded,omitempty"`
	// StartedAt is when the subscription was taken out: the contract's
	// conclusion, from which a consumer's 14-day right of withdrawal runs.
	// Zero when not given (an extension of API.md's shape): the engine
	// then decides on the store's rules alone, as before.
	StartedAt time.Time `json:"started_at,omitzero"`
	// Consent is what the customer ticked when subscribing (nil: nothing
	// recorded), as an order's.
	Consent *Consent `json:"consent,omitempty"`
}

// Evidence is one piece of evidence the customer sent, and when.
type Evidence struct {
	Kind string    `json:"kind"` // text or file
	At   time.Time `json:"at"`
}

// FactsError is malformed or incomplete facts: the JSON path of the field
// (order.paid_at, evidence[1].at) and what is wrong with it, in English
// (Msg, the words `comptoir policy eval` prints) and as a Code with the
// values of its message, which Localize words in another language.
type FactsError struct {
	Path string
	// Line and Column are where in the facts' text JSON that cannot be
	// read goes wrong (from 1; Column counts characters); 0 for an error
	// about a field's value (Path names it) or JSON cut short (it ends too
	// early, at the end). Error does not say them (`comptoir policy
	// eval`'s words are fixed); a page does.
	Line, Column int
	Msg          string
	// Code names the message: "policy.facts.<code>" in the catalogs.
	// Empty for a message without one (Localize then says Msg).
	Code string
	args []any
}

func (e *FactsError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func factsErr(path, format string, args ...any) error {
	return &FactsError{Path: path, Msg: fmt.Sprintf(format, args...), Code: factsCodes[format], args: args}
}

// Localize words the error in the language of t, without its path (as Msg
// has none): its code's message "policy.facts.<code>", filled with the
// values Msg was made of (V0, V1, V2), those that are words (a JSON type,
// what an object has) in t's language. In English it is Msg.
func (e *FactsError) Localize(lang string, t Translator) string {
	if e.Code == "" {
		return e.Msg
	}
	data := map[string]any{}
	for i, a := range e.args {
		if w, ok := a.(worded); ok {
			a = w.word(lang, t)
		}
		data["V"+strconv.Itoa(i)] = a
	}
	return t("policy.facts."+e.Code, data)
}

// worded is a value of a facts error's message that is words, not data: it
// has its English (String or Error, in Msg) and its words in a catalog.
type worded interface {
	word(lang string, t Translator) string
}

// phrase is a fixed piece of a facts error's message: a JSON type, what an
// object has. Its catalog message is "policy.facts.phrase.<phrase>".
type phrase string

func (p phrase) String() string                     { return phrasesEN[p] }
func (p phrase) word(_ string, t Translator) string { return t("policy.facts.phrase."+string(p), nil) }

// phrasesEN are the phrases' English words, as Msg has always said them.
var phrasesEN = map[phrase]string{
	"object": "an object", "array": "an array", "boolean": "a boolean", "number": "a number", "string": "a string",
	"null": "null", "nothing": "nothing", "other": "something else",
	"the_facts": "the facts",
	// ends_early is JSON cut short. Besides these, json_syntax words
	// other JSON the decoder cannot read (in French: in English the
	// decoder's own words are kept; FactsError.Line and Column say
	// where), bad_time and bad_year ParseTime's refusals.
	"ends_early":         "it ends too early",
	"known_facts":        "facts have kind, filed_at, customer, order, subscription, evidence, choice and refund_requested",
	"known_customer":     "a customer has type and country",
	"known_order":        "an order has placed_at, paid_at, paid, product_kind, quantity, delivered, refunded, processing_until and consent",
	"known_subscription": "a subscription has last_payment_at, last_payment, period_end, refunded, started_at and consent",
	"known_consent":      "a consent has immediate_performance, withdrawal_waiver and at",
	"known_amount":       "an amount has amount, in minor units, and currency",
	"known_evidence":     "evidence has kind and at",
}

// Phrases are the phrases facts errors use; each has a message
// "policy.facts.phrase.<phrase>" in every language.
func Phrases() []string {
	out := []string{"json_syntax", "bad_time", "bad_year"}
	for p := range phrasesEN {
		out = append(out, string(p))
	}
	return out
}

// jsonSyntax is JSON the decoder could not read, other than cut short.
type jsonSyntax struct{ err error }

func (j jsonSyntax) String() string { return j.err.Error() }

// word is the decoder's English in English: no catalog says it better.
// Where it goes wrong is FactsError's Line and Column: the decoder's
// offset counts from the value it was reading, not from the text.
func (j jsonSyntax) word(lang string, t Translator) string {
	if !isFrench(lang) {
		return j.String()
	}
	return t("policy.facts.phrase.json_syntax", nil)
}

// factsCodes are the codes of the facts errors' messages, by their English
// format. Each has a message "policy.facts.<code>" in every language.
var factsCodes = map[string]string{
	"the facts are %d bytes; at most %d":                                "too_large",
	"not JSON: %v":                                                      "not_json",
	"must be an object, not %s":                                         "not_object",
	"given twice":                                                       "given_twice",
	"unexpected data after %s":                                          "trailing_data",
	"unknown field (%s)":                                                "unknown_field",
	"%q is not a claim kind (want %s)":                                  "not_kind",
	"%q is not a customer type (want consumer or business)":             "not_customer_type",
	"%q is not a country code such as FR":                               "not_country",
	"%q is not a choice (want period_end or now)":                       "not_choice",
	"must be true or false, not %s":                                     "not_boolean",
	"%q is not a product kind (want service or digital)":                "not_product_kind",
	"must be at least 1, not %d":                                        "below_one",
	"must be a string, not %s":                                          "not_string",
	"must not be empty":                                                 "empty",
	"must be an RFC 3339 time such as \"2026-03-08T10:00:00Z\", not %s": "not_time",
	"%v":                         "as_is",
	"%s does not fit in 64 bits": "too_big",
	"must be an integer number of minor units, not %s":                           "not_minor_units",
	"must not be negative":                                                       "negative",
	"must be a currency code such as \"EUR\", not %s":                            "not_currency_string",
	"%q is not a currency code such as EUR":                                      "not_currency",
	"must be a whole number, not %s":                                             "not_whole",
	"must be an array of {\"kind\": \"text\" or \"file\", \"at\": time}, not %s": "not_evidence_list",
	"must be an object, not null":                                                "object_null",
	"%q is not a kind of evidence (want text or file)":                           "not_evidence_kind",
	"%s is before %s (%s)":                                                       "before",
	"%s is before subscription.last_payment_at (%s)":                             "before_last_payment",
	"%s is before subscription.started_at (%s)":                                  "before_started",
	"is %d, more than the %d ordered":                                            "above_quantity",
	"is %s but %s is in %s":                                                      "other_currency",
	"is %s, more than the %s paid (%s)":                                          "above_paid",
	"missing (%s)":                                                               "missing_kind",
	"missing (how much of the line was delivered, 0 if nothing)":                 "missing_delivered",
	"missing (in minor units: 1000 for €10.00)":                                  "missing_amount",
	"missing (a currency code such as EUR)":                                      "missing_currency",
	"missing (text or file)":                                                     "missing_evidence_kind",
	"missing (when it was sent)":                                                 "missing_evidence_at",
	"missing (when the customer first wrote about this)":                         "missing_filed_at",
	"missing (consumer or business: the law's floors depend on it)":              "missing_customer_type",
	"missing (the order line the claim is about)":                                "missing_order",
	"missing (a not_as_described window counts from the payment)":                "missing_paid_at",
	"missing (a %s window counts from the order)":                                "missing_placed_at",
	"missing (what was paid for the line)":                                       "missing_paid",
	"missing (how much was ordered)":                                             "missing_quantity",
	"missing (service or digital)":                                               "missing_product_kind",
	"missing (period_end or now: how the subscription should end)":               "missing_choice",
	"missing (the subscription to cancel)":                                       "missing_subscription",
	"missing (when last_payment was made)":                                       "missing_last_payment_at",
	"missing (what was paid on last_payment_at)":                                 "missing_last_payment",
	"missing (refunded is given, so what was paid is needed)":                    "missing_paid_refunded",
}

// FactsCodes are the codes a FactsError can have.
func FactsCodes() []string {
	out := make([]string, 0, len(factsCodes))
	for _, c := range factsCodes {
		out = append(out, c)
	}
	return out
}

// maxFacts bounds DecodeFacts' input: facts are a few hundred bytes.
const maxFacts = 1 << 20

// DecodeFacts reads facts from JSON, strictly: an unknown field, a field
// given twice, a malformed value or a field the kind needs that is missing
// is a *FactsError naming the field's path. It applies API.md's defaults
// (refund_requested true, refunded 0 in the paid currency) and then
// Validate.
func DecodeFacts(data []byte) (Facts, error) {
	var f Facts
	if len(data) > maxFacts {
		return f, factsErr("", "the facts are %d bytes; at most %d", len(data), maxFacts)
	}
	var have presence
	if err := decodeObject(data, "", func(key string, raw json.RawMessage, path string) error {
		return f.decodeField(key, raw, path, &have)
	}); err != nil {
		return Facts{}, locate(data, err)
	}
	// delivered is the one field whose zero value is meaningful, so only
	// the decoder can tell that it was left out.
	if f.Kind == NonDelivery || f.Kind == Withdrawal {
		if f.Order != nil && !have.delivered {
			return Facts{}, factsErr("order.delivered", "missing (how much of the line was delivered, 0 if nothing)")
		}
	}
	if f.Order != nil && f.Order.Paid != nil && f.Order.Refunded == nil {
		zero := money.Zero(f.Order.Paid.Currency)
		f.Order.Refunded = &zero
	}
	if err := f.Validate(); err != nil {
		return Facts{}, err
	}
	return f, nil
}

// locate gives a facts error about JSON that cannot be read (jsonSyntax)
// its line and column in data. The decoder's offsets count from the value
// it was reading (a member's, after a token): the whole text read again
// says where it goes wrong, the first mistake either way.
func locate(data []byte, err error) error {
	var fe *FactsError
	if !errors.As(err, &fe) || len(fe.args) != 1 {
		return err
	}
	if _, ok := fe.args[0].(jsonSyntax); !ok {
		return err
	}
	var v any
	var se *json.SyntaxError
	if !errors.As(json.Unmarshal(data, &v), &se) || se.Offset < 1 || se.Offset > int64(len(data)) {
		return err
	}
	before := data[:se.Offset-1] // what comes before the character at fault
	start := bytes.LastIndexByte(before, '\n') + 1
	fe.Line, fe.Column = bytes.Count(before, []byte("\n"))+1, utf8.RuneCount(before[start:])+1
	return err
}

// presence records fields whose absence the decoded value cannot show.
type presence struct{ delivered bool }

// decodeObject calls fn for each member of the JSON object in data, in
// order, refusing anything but one object, a duplicate key, and trailing
// data. null stands for an absent object.
func decodeObject(data []byte, path string, fn func(key string, raw json.RawMessage, path string) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var where any = path
	if path == "" {
		where = phrase("the_facts")
	}
	tok, err := dec.Token()
	if err != nil {
		return factsErr(path, "not JSON: %v", jsonProblem(err))
	}
	if tok != json.Delim('{') {
		return factsErr(path, "must be an object, not %s", describeJSON(tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return factsErr(path, "not JSON: %v", jsonProblem(err))
		}
		key, _ := tok.(string) // object keys are always strings
		sub := key
		if path != "" {
			sub = path + "." + key
		}
		if seen[key] {
			return factsErr(sub, "given twice")
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return factsErr(sub, "not JSON: %v", jsonProblem(err))
		}
		if err := fn(key, raw, sub); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return factsErr(path, "not JSON: %v", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return factsErr(path, "unexpected data after %s", where)
	}
	return nil
}

func jsonProblem(err error) any {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return phrase("ends_early")
	}
	return jsonSyntax{err}
}

func describeJSON(tok json.Token) phrase {
	switch t := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if t == '[' {
			return "array"
		}
		return "object"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	}
	return "other"
}

// describeRaw names the type of a raw JSON value.
func describeRaw(raw json.RawMessage) phrase {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func unknownField(path string, known phrase) error {
	return factsErr(path, "unknown field (%s)", known)
}

func (f *Facts) decodeField(key string, raw json.RawMessage, path string, have *presence) error {
	switch key {
	case "kind":
		s, err := decodeString(raw, path)
		if err != nil || s == "" {
			return err
		}
		if Kind(s).index() < 0 {
			return factsErr(path, "%q is not a claim kind (want %s)", s, kindList())
		}
		f.Kind = Kind(s)
	case "filed_at":
		return decodeTime(raw, path, &f.FiledAt)
	case "customer":
		return decodeObjectOrNull(raw, path, func(key string, raw json.RawMessage, path string) error {
			switch key {
			case "type":
				s, err := decodeString(raw, path)
				if err != nil || s == "" {
					return err
				}
				if s != string(Consumer) && s != string(Business) {
					return factsErr(path, "%q is not a customer type (want consumer or business)", s)
				}
				f.Customer.Type = CustomerType(s)
			case "country":
				s, err := decodeString(raw, path)
				if err != nil || s == "" {
					return err
				}
				if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
					return factsErr(path, "%q is not a country code such as FR", s)
				}
				f.Customer.Country = s
			default:
				return unknownField(path, "known_customer")
			}
			return nil
		})
	case "order":
		if isNull(raw) {
			return nil
		}
		f.Order = &Order{}
		return decodeObject(raw, path, func(key string, raw json.RawMessage, path string) error {
			return f.Order.decodeField(key, raw, path, have)
		})
	case "subscription":
		if isNull(raw) {
			return nil
		}
		s := &Subscription{}
		f.Subscription = s
		return decodeObject(raw, path, func(key string, raw json.RawMessage, path string) error {
			switch key {
			case "last_payment_at":
				return decodeTime(raw, path, &s.LastPaymentAt)
			case "last_payment":
				return decodeAmount(raw, path, &s.LastPayment)
			case "period_end":
				return decodeTime(raw, path, &s.PeriodEnd)
			case "refunded":
				return decodeAmount(raw, path, &s.Refunded)
			case "started_at":
				return decodeTime(raw, path, &s.StartedAt)
			case "consent":
				return decodeConsent(raw, path, &s.Consent)
			}
			return unknownField(path, "known_subscription")
		})
	case "evidence":
		return decodeEvidence(raw, path, &f.Evidence)
	case "choice":
		s, err := decodeString(raw, path)
		if err != nil || s == "" {
			return err
		}
		if s != string(CancelPeriodEnd) && s != string(CancelNow) {
			return factsErr(path, "%q is not a choice (want period_end or now)", s)
		}
		f.Choice = Cancel(s)
	case "refund_requested":
		if isNull(raw) {
			return nil
		}
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return factsErr(path, "must be true or false, not %s", describeRaw(raw))
		}
		f.RefundRequested = &b
	default:
		return unknownField(path, "known_facts")
	}
	return nil
}

func (o *Order) decodeField(key string, raw json.RawMessage, path string, have *presence) error {
	switch key {
	case "placed_at":
		return decodeTime(raw, path, &o.PlacedAt)
	case "paid_at":
		return decodeTime(raw, path, &o.PaidAt)
	case "paid":
		return decodeAmount(raw, path, &o.Paid)
	case "product_kind":
		s, err := decodeString(raw, path)
		if err != nil || s == "" {
			return err
		}
		if s != string(Service) && s != string(Digital) {
			return factsErr(path, "%q is not a product kind (want service or digital)", s)
		}
		o.ProductKind = ProductKind(s)
	case "quantity":
		n, ok, err := decodeCount(raw, path)
		if err != nil || !ok {
			return err
		}
		if n < 1 {
			return factsErr(path, "must be at least 1, not %d", n)
		}
		o.Quantity = n
	case "delivered":
		n, ok, err := decodeCount(raw, path)
		if err != nil || !ok {
			return err
		}
		o.Delivered, have.delivered = n, true
	case "refunded":
		return decodeAmount(raw, path, &o.Refunded)
	case "processing_until":
		return decodeTime(raw, path, &o.ProcessingUntil)
	case "consent":
		return decodeConsent(raw, path, &o.Consent)
	default:
		return unknownField(path, "known_order")
	}
	return nil
}

// decodeConsent reads a consent record (an order's or a subscription's);
// null is none.
func decodeConsent(raw json.RawMessage, path string, dst **Consent) error {
	if isNull(raw) {
		return nil
	}
	c := &Consent{}
	*dst = c
	return decodeObject(raw, path, func(key string, raw json.RawMessage, path string) error {
		switch key {
		case "immediate_performance":
			return decodeBool(raw, path, &c.ImmediatePerformance)
		case "withdrawal_waiver":
			return decodeBool(raw, path, &c.WithdrawalWaiver)
		case "at":
			return decodeTime(raw, path, &c.At)
		}
		return unknownField(path, "known_consent")
	})
}

func decodeObjectOrNull(raw json.RawMessage, path string, fn func(string, json.RawMessage, string) error) error {
	if isNull(raw) {
		return nil
	}
	return decodeObject(raw, path, fn)
}

// decodeString reads a string; null reads as "" (absent).
func decodeString(raw json.RawMessage, path string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", factsErr(path, "must be a string, not %s", describeRaw(raw))
	}
	if s == "" {
		return "", factsErr(path, "must not be empty")
	}
	return s, nil
}

func decodeBool(raw json.RawMessage, path string, dst *bool) error {
	if isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return factsErr(path, "must be true or false, not %s", describeRaw(raw))
	}
	return nil
}

// decodeTime reads an RFC 3339 time; null leaves dst zero (absent).
func decodeTime(raw json.RawMessage, path string, dst *time.Time) error {
	if isNull(raw) {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return factsErr(path, "must be an RFC 3339 time such as \"2026-03-08T10:00:00Z\", not %s", describeRaw(raw))
	}
	t, err := ParseTime(s)
	if err != nil {
		return factsErr(path, "%v", err)
	}
	*dst = t
	return nil
}

// ParseTime reads an RFC 3339 time, as facts and `policy eval --at` take
// them, with its separator and zone in either case ("t" and "z", which
// RFC 3339 §5.6 allows and time.Parse refuses). It refuses years before
// 1900 and after 9999: no claim is that old, and such a time would only
// overflow a window computation.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, UpperRFC3339(s))
	if err != nil {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return time.Time{}, &timeError{value: s}
	}
	if y := t.Year(); y < 1900 || y > 9999 {
		return time.Time{}, &timeError{value: s, year: true}
	}
	return t, nil
}

// UpperRFC3339 gives s with RFC 3339's lowercase date-time separator "t"
// and UTC zone "z" in upper case, as time.Parse's layouts want them
// (RFC 3339 §5.6: "T" and "Z" may alternatively be lower case). Nothing
// else in s changes, so what is not RFC 3339 stays refused.
func UpperRFC3339(s string) string {
	if len(s) > 10 && s[10] == 't' {
		s = s[:10] + "T" + s[11:]
	}
	if n := len(s); n > 0 && s[n-1] == 'z' {
		s = s[:n-1] + "Z"
	}
	return s
}

// timeError is ParseTime's refusal: not an RFC 3339 time, or a year out of
// range.
type timeError struct {
	value string
	year  bool
}

func (e *timeError) Error() string {
	if e.year {
		return fmt.Sprintf("%q: the year must be between 1900 and 9999", e.value)
	}
	return fmt.Sprintf("%q is not an RFC 3339 time such as 2026-03-08T10:00:00Z", e.value)
}

func (e *timeError) word(_ string, t Translator) string {
	id := "policy.facts.phrase.bad_time"
	if e.year {
		id = "policy.facts.phrase.bad_year"
	}
	return t(id, map[string]any{"Value": e.value})
}

// decodeAmount reads {"amount": <minor units>, "currency": "EUR"}; null is
// absent. Each member is named by its own path (order.paid.amount,
// order.paid.x), as every other field is: a wrong or unknown one inside an
// amount was named by the amount's path alone.
func decodeAmount(raw json.RawMessage, path string, dst **money.Amount) error {
	if isNull(raw) {
		return nil
	}
	var minor int64
	var currency string
	var haveAmount, haveCurrency bool
	err := decodeObject(raw, path, func(key string, raw json.RawMessage, sub string) error {
		switch key {
		case "amount":
			s := string(bytes.TrimSpace(raw))
			n, err := strconv.ParseInt(s, 10, 64)
			switch {
			case errors.Is(err, strconv.ErrRange):
				return factsErr(sub, "%s does not fit in 64 bits", truncate(s))
			case err != nil && len(s) > 0 && (s[0] == '-' || s[0] >= '0' && s[0] <= '9'):
				return factsErr(sub, "must be an integer number of minor units, not %s", truncate(s))
			case err != nil:
				return factsErr(sub, "must be an integer number of minor units, not %s", describeRaw(raw))
			case n < 0:
				return factsErr(sub, "must not be negative")
			}
			minor, haveAmount = n, true
		case "currency":
			var c string
			if err := json.Unmarshal(raw, &c); err != nil || isNull(raw) {
				return factsErr(sub, "must be a currency code such as \"EUR\", not %s", describeRaw(raw))
			}
			if money.CheckCurrency(c) != nil {
				return factsErr(sub, "%q is not a currency code such as EUR", truncate(c))
			}
			currency, haveCurrency = c, true
		default:
			return unknownField(sub, "known_amount")
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case !haveAmount:
		return factsErr(path+".amount", "missing (in minor units: 1000 for €10.00)")
	case !haveCurrency:
		return factsErr(path+".currency", "missing (a currency code such as EUR)")
	}
	a, err := money.New(minor, currency)
	if err != nil {
		return factsErr(path, "%v", err)
	}
	*dst = &a
	return nil
}

// decodeCount reads a non-negative JSON integer.
func decodeCount(raw json.RawMessage, path string) (int64, bool, error) {
	if isNull(raw) {
		return 0, false, nil
	}
	s := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if len(s) > 0 && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
			return 0, false, factsErr(path, "must be a whole number, not %s", truncate(s))
		}
		return 0, false, factsErr(path, "must be a whole number, not %s", describeRaw(raw))
	}
	if n < 0 {
		return 0, false, factsErr(path, "must not be negative")
	}
	return n, true, nil
}

func truncate(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

func decodeEvidence(raw json.RawMessage, path string, dst *[]Evidence) error {
	if isNull(raw) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return factsErr(path, "must be an array of {\"kind\": \"text\" or \"file\", \"at\": time}, not %s", describeRaw(raw))
	}
	out := make([]Evidence, len(items))
	for i, item := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		e := &out[i]
		if isNull(item) {
			return factsErr(p, "must be an object, not null")
		}
		if err := decodeObject(item, p, func(key string, raw json.RawMessage, path string) error {
			switch key {
			case "kind":
				s, err := decodeString(raw, path)
				if err != nil || s == "" {
					return err
				}
				if s != "text" && s != "file" {
					return factsErr(path, "%q is not a kind of evidence (want text or file)", s)
				}
				e.Kind = s
				return nil
			case "at":
				return decodeTime(raw, path, &e.At)
			}
			return unknownField(path, "known_evidence")
		}); err != nil {
			return err
		}
		if e.Kind == "" {
			return factsErr(p+".kind", "missing (text or file)")
		}
		if e.At.IsZero() {
			return factsErr(p+".at", "missing (when it was sent)")
		}
	}
	*dst = out
	return nil
}

// Validate checks that f has what its kind needs and that its values agree
// with each other, returning a *FactsError naming the first field at fault.
// Evaluate calls it too, so facts built in Go (by the server) get the same
// checks as facts read from JSON.
func (f *Facts) Validate() error {
	if f.Kind == "" {
		return factsErr("kind", "missing (%s)", kindList())
	}
	if f.Kind.index() < 0 {
		return factsErr("kind", "%q is not a claim kind (want %s)", string(f.Kind), kindList())
	}
	if f.FiledAt.IsZero() {
		return factsErr("filed_at", "missing (when the customer first wrote about this)")
	}
	switch f.Customer.Type {
	case "", Consumer, Business:
	default:
		return factsErr("customer.type", "%q is not a customer type (want consumer or business)", string(f.Customer.Type))
	}
	if f.Choice != "" && f.Choice != CancelPeriodEnd && f.Choice != CancelNow {
		return factsErr("choice", "%q is not a choice (want period_end or now)", string(f.Choice))
	}
	for i, e := range f.Evidence {
		if e.Kind != "text" && e.Kind != "file" {
			return factsErr("evidence["+strconv.Itoa(i)+"].kind", "%q is not a kind of evidence (want text or file)", e.Kind)
		}
		if e.At.IsZero() {
			return factsErr("evidence["+strconv.Itoa(i)+"].at", "missing (when it was sent)")
		}
	}

	// What each kind needs, in the order a reader of API.md would list it.
	needCustomer := f.Kind == NotAsDescribed || f.Kind == Withdrawal
	if needCustomer && f.Customer.Type == "" {
		return factsErr("customer.type", "missing (consumer or business: the law's floors depend on it)")
	}
	if f.Kind == SubscriptionCancel {
		return f.validateSubscription()
	}
	o := f.Order
	if o == nil {
		return factsErr("order", "missing (the order line the claim is about)")
	}
	var anchor time.Time
	var anchorPath string
	switch f.Kind {
	case NotAsDescribed:
		anchor, anchorPath = o.PaidAt, "order.paid_at"
		if anchor.IsZero() {
			return factsErr(anchorPath, "missing (a not_as_described window counts from the payment)")
		}
	default:
		anchor, anchorPath = o.PlacedAt, "order.placed_at"
		if anchor.IsZero() {
			return factsErr(anchorPath, "missing (a %s window counts from the order)", f.Kind)
		}
	}
	if f.FiledAt.Before(anchor) {
		return factsErr("filed_at", "%s is before %s (%s)", f.FiledAt.Format(time.RFC3339), anchorPath, anchor.Format(time.RFC3339))
	}
	needMoney := f.Kind == NonDelivery || f.Kind == Withdrawal
	if needMoney {
		if o.Paid == nil {
			return factsErr("order.paid", "missing (what was paid for the line)")
		}
		if o.Quantity == 0 {
			return factsErr("order.quantity", "missing (how much was ordered)")
		}
	}
	if f.Kind == Withdrawal && o.ProductKind == "" {
		return factsErr("order.product_kind", "missing (service or digital)")
	}
	switch o.ProductKind {
	case "", Service, Digital:
	default:
		return factsErr("order.product_kind", "%q is not a product kind (want service or digital)", string(o.ProductKind))
	}
	if o.Quantity < 0 {
		return factsErr("order.quantity", "must be at least 1, not %d", o.Quantity)
	}
	if o.Delivered < 0 {
		return factsErr("order.delivered", "must not be negative")
	}
	if o.Quantity > 0 && o.Delivered > o.Quantity {
		return factsErr("order.delivered", "is %d, more than the %d ordered", o.Delivered, o.Quantity)
	}
	if err := checkAmounts("order.paid", "order.refunded", o.Paid, o.Refunded); err != nil {
		return err
	}
	return nil
}

func (f *Facts) validateSubscription() error {
	if f.Choice == "" {
		return factsErr("choice", "missing (period_end or now: how the subscription should end)")
	}
	s := f.Subscription
	if s == nil {
		return factsErr("subscription", "missing (the subscription to cancel)")
	}
	switch {
	case s.LastPaymentAt.IsZero() && s.LastPayment != nil:
		return factsErr("subscription.last_payment_at", "missing (when last_payment was made)")
	case !s.LastPaymentAt.IsZero() && s.LastPayment == nil:
		return factsErr("subscription.last_payment", "missing (what was paid on last_payment_at)")
	}
	if !s.LastPaymentAt.IsZero() && f.FiledAt.Before(s.LastPaymentAt) {
		return factsErr("filed_at", "%s is before subscription.last_payment_at (%s)", f.FiledAt.Format(time.RFC3339), s.LastPaymentAt.Format(time.RFC3339))
	}
	if !s.StartedAt.IsZero() && f.FiledAt.Before(s.StartedAt) {
		return factsErr("filed_at", "%s is before subscription.started_at (%s)", f.FiledAt.Format(time.RFC3339), s.StartedAt.Format(time.RFC3339))
	}
	if !s.StartedAt.IsZero() && !s.LastPaymentAt.IsZero() && s.LastPaymentAt.Before(s.StartedAt) {
		return factsErr("subscription.last_payment_at", "%s is before subscription.started_at (%s)", s.LastPaymentAt.Format(time.RFC3339), s.StartedAt.Format(time.RFC3339))
	}
	return checkAmounts("subscription.last_payment", "subscription.refunded", s.LastPayment, s.Refunded)
}

func checkAmount(path string, a *money.Amount) error {
	if a == nil {
		return nil
	}
	if err := money.CheckCurrency(a.Currency); err != nil {
		return factsErr(path+".currency", "%q is not a currency code such as EUR", a.Currency)
	}
	if a.IsNegative() {
		return factsErr(path+".amount", "must not be negative")
	}
	return nil
}

// checkAmounts checks a paid amount and what was refunded of it: valid,
// not negative, in one currency, and no more refunded than was paid (the
// store's own records cannot say more: order_lines.refunded <= amount).
func checkAmounts(paidPath, refundedPath string, paid, refunded *money.Amount) error {
	if err := checkAmount(paidPath, paid); err != nil {
		return err
	}
	if err := checkAmount(refundedPath, refunded); err != nil {
		return err
	}
	if refunded != nil && paid == nil && refunded.IsPositive() {
		return factsErr(paidPath, "missing (refunded is given, so what was paid is needed)")
	}
	if refunded != nil && paid != nil && refunded.Currency != paid.Currency {
		return factsErr(refundedPath+".currency", "is %s but %s is in %s", refunded.Currency, paidPath, paid.Currency)
	}
	if refunded != nil && paid != nil && refunded.Minor > paid.Minor {
		return factsErr(refundedPath, "is %s, more than the %s paid (%s)", *refunded, *paid, paidPath)
	}
	return nil
}
