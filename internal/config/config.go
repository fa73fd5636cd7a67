// Package config reads comptoir's configuration: command-line flags, each
// also readable from the environment as COMPTOIR_<FLAG> (dashes become
// underscores), and secrets also from a file named by COMPTOIR_<FLAG>_FILE.
// A flag given on the command line wins over the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// UsageError is bad usage or configuration: the program exits with code 2
// and the one-line message.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a usage or configuration error.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Config is what every command shares.
type Config struct {
	Listen         string
	SMTPListen     string
	DataDir        string
	DatabaseURL    string
	SupportAddress string
	// BaseURL is the store's public address, used in links sent by email and
	// to decide whether cookies are Secure (https).
	BaseURL   string
	StoreName string
	// SMTPRelay is where outgoing mail goes: smtp://user:pass@host:587
	// (STARTTLS), smtps://…:465 (TLS) or smtp+plain://… (no TLS, for a
	// relay on the same machine). Empty: mail is written to the data
	// directory instead.
	SMTPRelay string
	MailFrom  string
	LogLevel  string
	// Stripe keys: without them the store takes the balance only.
	StripeSecretKey     string
	StripeWebhookSecret string
	// StripeAPIURL points the Stripe client elsewhere than Stripe's API
	// (stripe-mock in tests).
	StripeAPIURL string
	// FulfilmentWebhookSecret ("whsec_…") lets a fulfilment service report
	// delivery progress with Standard Webhooks signatures.
	FulfilmentWebhookSecret string
	// The seller's legal identity, printed on invoices, and whether catalog
	// prices include VAT.
	SellerName         string
	SellerAddress      string
	SellerCountry      string
	SellerVATNumber    string
	SellerRegistration string
	// PricesExcludeVAT is --prices-include-vat=false. It is stored
	// negated so that the zero Config (tests, tools) has the default:
	// prices include VAT.
	PricesExcludeVAT bool
}

// Register adds the shared flags to fs and returns the Config they fill.
// Call Resolve after fs.Parse.
func Register(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.Listen, "listen", "localhost:8080", "HTTP address to listen on")
	fs.StringVar(&c.SMTPListen, "smtp-listen", "", "address of the inbound SMTP listener (off when empty)")
	fs.StringVar(&c.DataDir, "data-dir", "./comptoir-data", "directory for the SQLite file, uploads and spooled mail")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "sqlite:PATH or postgres://… (default sqlite:<data-dir>/comptoir.db)")
	fs.StringVar(&c.SupportAddress, "support-address", "support@localhost", "the address customers write to")
	fs.StringVar(&c.BaseURL, "base-url", "", "public URL of the store, for links in emails (default http://<listen>)")
	fs.StringVar(&c.StoreName, "store-name", "comptoir", "the store's name as customers see it")
	fs.StringVar(&c.SMTPRelay, "smtp-relay", "", "outgoing mail relay, smtp://user:pass@host:port (mail is written to the data directory when empty)")
	fs.StringVar(&c.MailFrom, "mail-from", "", "From address of outgoing mail (default the support address)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.StripeSecretKey, "stripe-secret-key", "", "Stripe secret key (card payments are off without it)")
	fs.StringVar(&c.StripeWebhookSecret, "stripe-webhook-secret", "", "signing secret of the Stripe webhook endpoint /api/v1/webhooks/stripe")
	fs.StringVar(&c.StripeAPIURL, "stripe-api-url", "", "Stripe API base URL (default Stripe's; tests use stripe-mock)")
	fs.StringVar(&c.FulfilmentWebhookSecret, "fulfilment-webhook-secret", "", "whsec_… secret of the fulfilment service's signed delivery webhooks")
	fs.StringVar(&c.SellerName, "seller-name", "", "the seller's legal name on invoices (default the store name)")
	fs.StringVar(&c.SellerAddress, "seller-address", "", "the seller's postal address on invoices")
	fs.StringVar(&c.SellerCountry, "seller-country", "FR", "the seller's country (ISO 3166-1 alpha-2), where its VAT is due")
	fs.StringVar(&c.SellerVATNumber, "seller-vat-number", "", "the seller's VAT number on invoices")
	fs.StringVar(&c.SellerRegistration, "seller-registration", "", "the seller's registration on invoices (SIREN, RCS…)")
	fs.Var(negatedBool{&c.PricesExcludeVAT}, "prices-include-vat", "catalog prices include VAT (false: VAT is added to them) (default true)")
	return c
}

// secretFlags may also come from a file (COMPTOIR_<NAME>_FILE), so that a
// password never has to sit in the environment or a process listing.
var secretFlags = map[string]bool{"database-url": true, "smtp-relay": true, "stripe-secret-key": true, "stripe-webhook-secret": true, "fulfilment-webhook-secret": true}

// EnvName is the environment variable that sets a flag.
func EnvName(flagName string) string {
	return "COMPTOIR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv fills every flag of fs not given on the command line from the
// environment. It works for any command's flags, not only the shared ones.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := EnvName(f.Name)
		v, ok := getenv(name), getenv(name) != ""
		if !ok && secretFlags[f.Name] {
			if path := getenv(name + "_FILE"); path != "" {
				b, rerr := os.ReadFile(path)
				if rerr != nil {
					err = Usagef("%s_FILE: %v", name, rerr)
					return
				}
				v, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if ok {
			if serr := f.Value.Set(v); serr != nil {
				err = Usagef("%s: %v", name, serr)
			}
		}
	})
	return err
}

// Resolve fills defaults that depend on other settings and checks values.
func (c *Config) Resolve() error {
	if c.DataDir == "" {
		return Usagef("--data-dir must not be empty")
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "comptoir.db")
	}
	if c.BaseURL == "" {
		host := c.Listen
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		c.BaseURL = "http://" + host
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Usagef("--base-url %q: want http(s)://host[:port]", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if _, err := mail.ParseAddress(c.SupportAddress); err != nil {
		return Usagef("--support-address %q is not an email address", c.SupportAddress)
	}
	if c.MailFrom == "" {
		c.MailFrom = c.SupportAddress
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return Usagef("--mail-from %q is not an email address", c.MailFrom)
	}
	if c.SMTPRelay != "" {
		u, err := url.Parse(c.SMTPRelay)
		if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps" && u.Scheme != "smtp+plain") {
			return Usagef("--smtp-relay: want smtp://, smtps:// or smtp+plain://user:pass@host:port")
		}
	}
	c.SellerCountry = strings.ToUpper(strings.TrimSpace(c.SellerCountry))
	if c.SellerCountry == "" {
		c.SellerCountry = "FR"
	}
	if len(c.SellerCountry) != 2 {
		return Usagef("--seller-country %q: want an ISO 3166-1 alpha-2 code such as FR", c.SellerCountry)
	}
	if c.SellerName == "" {
		c.SellerName = c.StoreName
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return Usagef("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// SecureCookies reports whether the store is served over https, so that
// cookies must be marked Secure.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// negatedBool is a boolean flag that sets the opposite value in its field.
type negatedBool struct{ p *bool }

func (b negatedBool) String() string {
	if b.p == nil {
		return "true"
	}
	return strconv.FormatBool(!*b.p)
}

func (b negatedBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = !v
	return nil
}

func (negatedBool) IsBoolFlag() bool { return true }
