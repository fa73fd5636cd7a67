package mail

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"unicode/utf8"
)

// ErrInvalid marks a message or address that cannot be sent as given. The
// wrapped text names the field; nothing of an invalid message is stored.
var ErrInvalid = errors.New("invalid mail")

// Address is a mailbox: an optional display name and an email address.
type Address struct {
	Name  string
	Email string
}

// ParseAddress reads "Name <a@example.com>" or "a@example.com", refusing
// control characters and line breaks anywhere (see checkHeader).
func ParseAddress(s string) (Address, error) {
	if err := checkHeader("address", s); err != nil {
		return Address{}, err
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("%w: address %q: %v", ErrInvalid, s, err)
	}
	return Address{Name: a.Name, Email: a.Address}, nil
}

// String formats the address for a header, quoting and encoding the name
// as RFC 5322 and RFC 2047 require.
func (a Address) String() string {
	return (&netmail.Address{Name: a.Name, Address: a.Email}).String()
}

// Domain is the part of the address after the last "@", lower-cased.
func (a Address) Domain() string {
	i := strings.LastIndexByte(a.Email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(a.Email[i+1:])
}

// validate checks an Address built by hand rather than by ParseAddress.
func (a Address) validate(field string) error {
	if err := checkHeader(field+" name", a.Name); err != nil {
		return err
	}
	if err := checkHeader(field, a.Email); err != nil {
		return err
	}
	p, err := netmail.ParseAddress(a.Email)
	if err != nil || p.Name != "" || p.Address != a.Email {
		return fmt.Errorf("%w: %s %q is not a plain email address", ErrInvalid, field, a.Email)
	}
	if a.Domain() == "" {
		return fmt.Errorf("%w: %s %q has no domain", ErrInvalid, field, a.Email)
	}
	return nil
}

// checkHeader refuses what could end a header line early or smuggle in a
// new one: CR, LF and every other control character, the Unicode line
// separators, and invalid UTF-8. Encoders downstream would mostly escape
// these, but refusing them here makes header injection impossible by
// construction rather than by the care of a library.
func checkHeader(field, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	if !headerText(v) {
		return fmt.Errorf("%w: %s contains a line break or control character", ErrInvalid, field)
	}
	return nil
}

// validHeader reports whether checkHeader accepts v, for a caller that
// names the field only when it does not.
func validHeader(v string) bool { return utf8.ValidString(v) && headerText(v) }

// headerText reports whether v holds no line break nor control character.
func headerText(v string) bool {
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// checkBody allows line breaks and tabs but no other control characters
// (a NUL ends a C string in some relays) and only valid UTF-8.
func checkBody(field, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	for _, r := range v {
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalid, field)
		}
	}
	return nil
}

// normalizeMsgID checks a message id given with or without its angle
// brackets and returns it with them. Message ids come from other people's
// mail programs, so only what could break the header is refused: anything
// but printable ASCII, spaces, and stray angle brackets.
func normalizeMsgID(field, v string) (string, error) {
	if err := checkHeader(field, v); err != nil {
		return "", err
	}
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	if v == "" || len(v) > 250 {
		return "", fmt.Errorf("%w: %s must be a message id of 1 to 250 characters", ErrInvalid, field)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return "", fmt.Errorf("%w: %s %q is not a message id", ErrInvalid, field, v)
		}
	}
	return "<" + v + ">", nil
}

// IsAddressLiteral reports whether an address names its host by an IP
// address ("eve@[10.0.0.5]") rather than a domain. Nobody's mailbox is
// written so, and a form or a forged From giving one would have the relay
// deliver to whatever host the address says, inside the network included:
// the store never writes to one.
func IsAddressLiteral(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at >= 0 && strings.HasPrefix(addr[at+1:], "[")
}
