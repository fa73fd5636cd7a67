// Package config reads comptoir's configuration: command-line flags, each
// also readable from the environment as COMPTOIR_<FLAG> (dashes become
// underscores), and secrets also from a file named by COMPTOIR_<FLAG>_FILE.
// A flag given on the command line wins over the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/clientaddr"
	"comptoir/internal/desk/sla"
	"comptoir/internal/localtime"
	"comptoir/internal/secretbox"
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
	Listen     string
	SMTPListen string
	// SMTPMaxConnections bounds the SMTP listener's simultaneous sessions.
	SMTPMaxConnections int
	// SMTPMaxConnectionsPerIP bounds those of one client address.
	SMTPMaxConnectionsPerIP int
	// DebugListen, when set, is a loopback address serving Go's profiler
	// (/debug/pprof/): CPU profiles and execution traces of the running
	// server, for the bench harness and for an operator chasing slowness.
	DebugListen string
	DataDir     string
	// MinFreeMB is the free space, in MiB, that the data directory's file
	// system must keep: below it /readyz fails (the data directory holds
	// the SQLite file, uploads and spooled mail).
	MinFreeMB      int64
	DatabaseURL    string
	SupportAddress string
	// BaseURL is the store's public address, used in links sent by email and
	// to decide whether cookies are Secure (https).
	BaseURL string
	// baseURLDefaulted: BaseURL was made from Listen (Warnings).
	baseURLDefaulted bool
	StoreName        string
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
	// StripeCheckoutOrigin is where Stripe's Checkout pages live; the
	// Content-Security-Policy lets forms redirect there (form-action).
	StripeCheckoutOrigin string
	// RequireStaffTOTP makes agents and admins set up a second factor
	// (TOTP) before they reach the console.
	RequireStaffTOTP bool
	// FulfilmentWebhookSecret ("whsec_…") lets a fulfilment service report
	// delivery progress with Standard Webhooks signatures.
	FulfilmentWebhookSecret string
	// BlobURL puts uploaded files in an S3-compatible bucket,
	// s3://bucket/prefix?endpoint=host:port&region=…; empty keeps them in
	// the data directory. BlobAccessKey and BlobSecretKey sign requests.
	BlobURL       string
	BlobAccessKey string
	BlobSecretKey string
	// IMAPURL is the support mailbox the desk polls for mail:
	// imaps://user@host[:993][/MAILBOX], imap://… (STARTTLS required) or
	// imap+insecure://… (no TLS, a server on the same machine). Empty: off.
	IMAPURL string
	// IMAPPassword is the mailbox's password (best from
	// COMPTOIR_IMAP_PASSWORD_FILE); it wins over one in IMAPURL.
	IMAPPassword     string
	IMAPPollInterval time.Duration
	// InboundTrustedAuthservID is --inbound-trusted-authserv-id as given:
	// the authserv-id of the mail server in front of the desk (the mailbox
	// provider polled by IMAP, the MTA relaying to the SMTP listener) that
	// checks DKIM and DMARC and writes Authentication-Results (RFC 8601),
	// or several, comma-separated (one per MX host: OpenDMARC's default id
	// is the host's name). InboundTrustedAuthservIDs is the list. When
	// set, an inbound message is taken for its From's only if such a
	// server vouched for it. Empty: From is believed, as the desk cannot
	// check it itself.
	InboundTrustedAuthservID  string
	InboundTrustedAuthservIDs []string
	// InboundTrustedRelays is --inbound-trusted-relays as given: the SMTP
	// clients (CIDRs or addresses, comma-separated) whose connections to
	// the SMTP listener may carry a trusted Authentication-Results, those
	// of the mail server in front. A mail from any other client counts as
	// unverified, whatever its header says: anyone who reaches the
	// listener can write that header. Resolve parses it into
	// InboundTrustedRelayNets. Empty, with an authserv-id set: every
	// client is believed, as before the flag, and start-up warns.
	InboundTrustedRelays    string
	InboundTrustedRelayNets clientaddr.Trusted
	// SLAWarnBefore is how long before the promised answer time of a ticket or
	// a claim the staff is warned by email.
	SLAWarnBefore time.Duration
	// SLAHours, SLAZone and SLAHolidays are the business calendar the SLA
	// counts in (sla.ParseHours); no hours: wall-clock time. An empty
	// SLAZone is Zone: business hours are the store's.
	SLAHours, SLAZone, SLAHolidays string
	// Zone is --zone as given: the IANA name of the store's time zone.
	// Resolve loads it into Location (empty: DefaultZone). Every time and
	// date shown to a person is written there, and the dates that matter
	// to the law (an invoice's date, the accounting export's periods) are
	// its local dates. Storage and the JSON API stay UTC.
	Zone     string
	Location localtime.Zone
	// The seller's legal identity, printed on invoices, and whether catalog
	// prices include VAT.
	SellerName         string
	SellerAddress      string
	SellerCountry      string
	SellerVATNumber    string
	SellerRegistration string
	// RetainActivity is how long activity traces (sessions and the
	// addresses downloads came from) are kept; RetainClosedTickets how
	// long a closed ticket keeps its personal content. A daily job applies
	// both.
	RetainActivity      time.Duration
	RetainClosedTickets time.Duration
	// PricesExcludeVAT is --prices-include-vat=false. It is stored
	// negated so that the zero Config (tests, tools) has the default:
	// prices include VAT.
	PricesExcludeVAT bool
	// TrustedProxies is --trusted-proxies as given: the reverse proxies
	// (CIDRs or addresses, comma-separated) whose X-Forwarded-For names the
	// client. Resolve parses it into TrustedProxyNets; empty trusts nobody.
	TrustedProxies   string
	TrustedProxyNets clientaddr.Trusted
	// MetricsToken, when set, is the bearer token /metrics asks for;
	// without it /metrics answers only clients on the loopback interface.
	MetricsToken string
	// SecretKey is --secret-key as given: the key that seals secrets kept
	// in the database for reading back (staff TOTP secrets). Resolve parses
	// it into SealingKey; empty leaves SealingKey nil, and the app then uses
	// (creating it on first start) <data-dir>/secret.key.
	SecretKey  string
	SealingKey *secretbox.Key
}

// DefaultZone is the store's time zone when --zone is not given: the
// zone of the default --seller-country (FR), whose invoices must carry
// French dates.
const DefaultZone = "Europe/Paris"

// DefaultSMTPMaxConnections is --smtp-max-connections when not given:
// above what a mail server forwarding support mail opens (a few), and a
// bound on memory: each session may hold a message of up to 25 MiB while
// it is received, 500 MiB for twenty.
const DefaultSMTPMaxConnections = 20

// DefaultSMTPMaxConnectionsPerIP is --smtp-max-connections-per-ip when not
// given: one sender opening all it can leaves the other places to the
// rest, and a mail server forwarding support mail needs fewer sessions
// than that (told 421, it keeps the message and retries).
const DefaultSMTPMaxConnectionsPerIP = 5

// DefaultStripeCheckoutOrigin is where Stripe serves its Checkout pages.
const DefaultStripeCheckoutOrigin = "https://checkout.stripe.com"

// Register adds the shared flags to fs and returns the Config they fill.
// Call Resolve after fs.Parse.
func Register(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.Listen, "listen", "localhost:8080", "HTTP address to listen on")
	fs.StringVar(&c.SMTPListen, "smtp-listen", "", "address of the inbound SMTP listener (off when empty)")
	fs.IntVar(&c.SMTPMaxConnections, "smtp-max-connections", DefaultSMTPMaxConnections, "sessions the SMTP listener holds at once; the next connection is answered 421 (try again later)")
	fs.IntVar(&c.SMTPMaxConnectionsPerIP, "smtp-max-connections-per-ip", DefaultSMTPMaxConnectionsPerIP, "sessions one client address holds at once on the SMTP listener; its next connection is answered 421 (try again later)")
	fs.StringVar(&c.DebugListen, "debug-listen", "", "loopback address serving Go's profiler at /debug/pprof/ (off when empty)")
	fs.StringVar(&c.DataDir, "data-dir", "./comptoir-data", "directory for the SQLite file, uploads and spooled mail")
	fs.Int64Var(&c.MinFreeMB, "min-free-mb", 64, "free space (MiB) the data directory's file system must keep: below it /readyz fails, so traffic can go elsewhere before writes fail")
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
	fs.StringVar(&c.StripeCheckoutOrigin, "stripe-checkout-origin", DefaultStripeCheckoutOrigin, "origin of Stripe's Checkout pages, allowed as a form's destination by the Content-Security-Policy")
	fs.BoolVar(&c.RequireStaffTOTP, "require-staff-totp", false, "agents and admins must set up two-step sign-in (TOTP) before reaching the console")
	fs.StringVar(&c.FulfilmentWebhookSecret, "fulfilment-webhook-secret", "", "whsec_… secret of the fulfilment service's signed delivery webhooks")
	fs.StringVar(&c.BlobURL, "blob-url", "", "S3-compatible bucket for uploaded files, s3://bucket[/prefix][?endpoint=host:port&region=…&insecure=true] (default: <data-dir>/uploads)")
	fs.StringVar(&c.BlobAccessKey, "blob-access-key", "", "access key id for --blob-url")
	fs.StringVar(&c.BlobSecretKey, "blob-secret-key", "", "secret access key for --blob-url")
	fs.StringVar(&c.IMAPURL, "imap-url", "", "support mailbox to poll: imaps://user@host:993/INBOX, imap://… (STARTTLS) or imap+insecure://… (off when empty)")
	fs.StringVar(&c.IMAPPassword, "imap-password", "", "password of the --imap-url mailbox (best from COMPTOIR_IMAP_PASSWORD_FILE)")
	fs.DurationVar(&c.IMAPPollInterval, "imap-poll-interval", time.Minute, "how often the --imap-url mailbox is polled")
	fs.StringVar(&c.InboundTrustedAuthservID, "inbound-trusted-authserv-id", "", "authserv-id (such as mx.example.net; several comma-separated) of the mail server in front that writes Authentication-Results: inbound mail counts as its From's only when that server's topmost result says dmarc=pass or dkim=pass for the From domain (From is believed when empty)")
	fs.StringVar(&c.InboundTrustedRelays, "inbound-trusted-relays", "", "mail servers (comma-separated CIDRs or addresses, such as 127.0.0.1,10.0.0.25) whose connections to --smtp-listen may carry a trusted Authentication-Results; mail from any other client counts as unverified (default: any client, with a warning at start-up)")
	fs.DurationVar(&c.SLAWarnBefore, "sla-warn-before", 6*time.Hour, "how long before the promised answer time of a ticket or a claim the staff is warned by email")
	fs.StringVar(&c.SLAHours, "sla-hours", "", "business hours the answer deadlines count, such as \"mon-fri 09:00-18:00; sat 10:00-12:00\" (wall-clock hours when empty)")
	fs.StringVar(&c.Zone, "zone", DefaultZone, "the store's IANA time zone, such as Europe/Paris or UTC: pages, emails, invoice dates, subscription periods and the accounting export's periods are in it")
	fs.StringVar(&c.SLAZone, "sla-zone", "", "IANA time zone of --sla-hours (default --zone)")
	fs.StringVar(&c.SLAHolidays, "sla-holidays", "", "days --sla-hours skips, comma-separated YYYY-MM-DD dates")
	fs.StringVar(&c.SellerName, "seller-name", "", "the seller's legal name on invoices (default the store name)")
	fs.StringVar(&c.SellerAddress, "seller-address", "", "the seller's postal address on invoices")
	fs.StringVar(&c.SellerCountry, "seller-country", "FR", "the seller's country (ISO 3166-1 alpha-2), where its VAT is due")
	fs.StringVar(&c.SellerVATNumber, "seller-vat-number", "", "the seller's VAT number on invoices")
	fs.StringVar(&c.SellerRegistration, "seller-registration", "", "the seller's registration on invoices (SIREN, RCS…)")
	c.RetainActivity, c.RetainClosedTickets = DefaultRetainActivity, DefaultRetainClosedTickets
	fs.Var(spanFlag{&c.RetainActivity}, "retain-activity", "how long sessions and download addresses are kept, as 365d, 2y or 720h")
	fs.Var(spanFlag{&c.RetainClosedTickets}, "retain-closed-tickets", "how long a closed ticket keeps its messages and the customer's details, as 3y or 400d")
	fs.StringVar(&c.MetricsToken, "metrics-token", "", "bearer token a scraper must send to read /metrics (default: /metrics answers loopback clients only)")
	fs.StringVar(&c.SecretKey, "secret-key", "", "32 random bytes, as 64 hex characters or base64, that seal staff TOTP secrets in the database; every node must have the same (default: <data-dir>/secret.key, created on first start)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "reverse proxies whose X-Forwarded-For gives the client's address: comma-separated CIDRs or addresses, such as 127.0.0.1/32,10.0.0.0/8 (default: trust nobody)")
	fs.Var(negatedBool{&c.PricesExcludeVAT}, "prices-include-vat", "catalog prices include VAT (false: VAT is added to them) (default true)")
	return c
}

// secretFlags may also come from a file (COMPTOIR_<NAME>_FILE), so that a
// password never has to sit in the environment or a process listing.
var secretFlags = map[string]bool{"database-url": true, "smtp-relay": true, "stripe-secret-key": true, "stripe-webhook-secret": true, "fulfilment-webhook-secret": true,
	"blob-access-key": true, "blob-secret-key": true, "imap-url": true, "imap-password": true, "metrics-token": true,
	"secret-key": true}

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
		if ok && secretFlags[f.Name] && getenv(name+"_FILE") != "" {
			// Which one was meant? The variable won, and a store given its
			// database URL in a file while an old COMPTOIR_DATABASE_URL
			// stayed in its environment used the old database, silently.
			err = Usagef("both %s and %s_FILE are set: keep one", name, name)
			return
		}
		if !ok && secretFlags[f.Name] {
			if path := getenv(name + "_FILE"); path != "" {
				b, rerr := ReadFile(path, MaxSecretFile)
				if rerr != nil {
					err = Usagef("%s_FILE: %v", name, rerr)
					return
				}
				v, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if ok {
			if serr := f.Value.Set(v); serr != nil {
				// The value, as the flag package shows a flag's ("parse
				// error" alone did not say what was wrong), except a
				// secret's.
				shown := fmt.Sprintf(" %q", v)
				if secretFlags[f.Name] {
					shown = ""
				}
				err = Usagef("invalid value%s for %s (--%s): %v", shown, name, f.Name, serr)
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
	if c.MinFreeMB < 0 {
		return Usagef("--min-free-mb must not be negative")
	}
	if c.DebugListen != "" && !IsLoopbackAddr(c.DebugListen) {
		// Profiles show the server's memory and code paths: never to
		// the network.
		return Usagef("--debug-listen %q: want a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", c.DebugListen)
	}
	if c.Listen == "" {
		// Said first: the default --base-url is made of it, and the
		// reason given was "--base-url "http://": want http(s)://host".
		return Usagef("--listen must not be empty (host:port, such as localhost:8080)")
	}
	c.baseURLDefaulted = c.BaseURL == ""
	if c.baseURLDefaulted {
		c.BaseURL = "http://" + defaultHost(c.Listen)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Usagef("--base-url %q: want http(s)://host[:port]", c.BaseURL)
	}
	// Every emailed link is the base URL and a path: after a query or a
	// fragment ("https://shop.example?ref=x/orders/…") the path is lost,
	// and a user and password would be shown in every email.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.BaseURL, "#") || u.User != nil {
		return Usagef("--base-url %q: want http(s)://host[:port], without a query, a fragment or a user", c.BaseURL)
	}
	// url.Parse lowers the scheme; the setting must too, or an
	// "HTTPS://shop.example" store would send its session cookie without
	// Secure (SecureCookies) and mail links spelled oddly.
	c.BaseURL = u.Scheme + c.BaseURL[len(u.Scheme):]
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
	if c.BlobURL != "" {
		// The rest of the URL (endpoint, region…) is read by the S3 store.
		u, err := url.Parse(c.BlobURL)
		if err != nil || u.Scheme != "s3" || u.Host == "" {
			return Usagef("--blob-url: want s3://bucket[/prefix][?endpoint=host:port&region=…&insecure=true]")
		}
	}
	if c.BlobURL == "" && (c.BlobAccessKey != "" || c.BlobSecretKey != "") {
		return Usagef("--blob-access-key and --blob-secret-key need --blob-url")
	}
	if (c.BlobAccessKey == "") != (c.BlobSecretKey == "") {
		return Usagef("--blob-access-key and --blob-secret-key go together")
	}
	if c.IMAPPollInterval == 0 {
		c.IMAPPollInterval = time.Minute
	}
	if c.SMTPMaxConnections == 0 {
		c.SMTPMaxConnections = DefaultSMTPMaxConnections
	}
	if c.SMTPMaxConnections < 1 {
		return Usagef("--smtp-max-connections %d: want at least 1", c.SMTPMaxConnections)
	}
	if c.SMTPMaxConnectionsPerIP == 0 {
		c.SMTPMaxConnectionsPerIP = DefaultSMTPMaxConnectionsPerIP
	}
	if c.SMTPMaxConnectionsPerIP < 1 {
		return Usagef("--smtp-max-connections-per-ip %d: want at least 1", c.SMTPMaxConnectionsPerIP)
	}
	if c.StripeCheckoutOrigin == "" {
		c.StripeCheckoutOrigin = DefaultStripeCheckoutOrigin
	}
	if u, err := url.Parse(c.StripeCheckoutOrigin); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.User != nil || strings.ContainsAny(c.StripeCheckoutOrigin, " ;,'") {
		return Usagef("--stripe-checkout-origin %q: want an origin such as https://checkout.stripe.com", c.StripeCheckoutOrigin)
	}
	if c.SLAWarnBefore == 0 {
		c.SLAWarnBefore = 6 * time.Hour
	}
	if c.IMAPURL != "" {
		u, err := url.Parse(c.IMAPURL)
		if err != nil || u.Host == "" || (u.Scheme != "imaps" && u.Scheme != "imap" && u.Scheme != "imap+insecure") {
			return Usagef("--imap-url: want imaps://, imap:// (STARTTLS) or imap+insecure://user@host[:port][/MAILBOX]")
		}
		if c.IMAPPollInterval < time.Second {
			return Usagef("--imap-poll-interval %s: want at least 1s", c.IMAPPollInterval)
		}
	}
	c.InboundTrustedAuthservIDs = nil
	if c.InboundTrustedAuthservID != "" {
		for _, id := range strings.Split(c.InboundTrustedAuthservID, ",") {
			id = strings.TrimSpace(id)
			if id == "" || strings.ContainsAny(id, " \t\r\n;()\"=") {
				return Usagef("--inbound-trusted-authserv-id %q: want the servers' authserv-ids, comma-separated words such as mx.example.net", c.InboundTrustedAuthservID)
			}
			c.InboundTrustedAuthservIDs = append(c.InboundTrustedAuthservIDs, id)
		}
	}
	if c.InboundTrustedRelayNets, err = clientaddr.Parse(c.InboundTrustedRelays); err != nil {
		return Usagef("--inbound-trusted-relays: %v", err)
	}
	if !c.InboundTrustedRelayNets.Empty() && len(c.InboundTrustedAuthservIDs) == 0 {
		// Alone, the list would vouch for nothing: the operator believes
		// mail is checked when From is taken as it is.
		return Usagef("--inbound-trusted-relays needs --inbound-trusted-authserv-id, the id those relays write in Authentication-Results")
	}
	if c.RetainActivity == 0 {
		c.RetainActivity = DefaultRetainActivity
	}
	if c.RetainClosedTickets == 0 {
		c.RetainClosedTickets = DefaultRetainClosedTickets
	}
	if c.RetainActivity < 24*time.Hour || c.RetainClosedTickets < 24*time.Hour {
		return Usagef("--retain-activity and --retain-closed-tickets: want at least 1d")
	}
	if c.SLAWarnBefore < 0 {
		return Usagef("--sla-warn-before %s: want a positive duration such as 6h", c.SLAWarnBefore)
	}
	if c.Zone = strings.TrimSpace(c.Zone); c.Zone == "" {
		c.Zone = DefaultZone
	}
	if c.Location, err = localtime.Load(c.Zone); err != nil {
		return Usagef("--zone: %v", err)
	}
	c.SLAHours, c.SLAZone = strings.TrimSpace(c.SLAHours), strings.TrimSpace(c.SLAZone)
	if c.SLAZone == "" {
		c.SLAZone = c.Zone
	}
	if _, err := sla.ParseHours(c.SLAZone, c.SLAHours, c.SLAHolidays); err != nil {
		return Usagef("--sla-hours, --sla-zone, --sla-holidays: %v", err)
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
	if c.TrustedProxyNets, err = clientaddr.Parse(c.TrustedProxies); err != nil {
		return Usagef("--trusted-proxies: %v", err)
	}
	c.SealingKey = nil
	if c.SecretKey != "" {
		k, err := secretbox.ParseKey(c.SecretKey)
		if err != nil {
			// Never the value itself in the message: it is a secret, even
			// a malformed one.
			return Usagef("--secret-key: %v; make one with: openssl rand -hex 32", err)
		}
		c.SealingKey = &k
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
// defaultHost is the host:port of the default base URL for a listen
// address: an address of every interface (":8080", "0.0.0.0:8080",
// "[::]:8080") is no address a browser can open, so links said
// "http://0.0.0.0:8080/…"; localhost is, on this machine at least.
func defaultHost(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort("localhost", port)
	}
	return listen
}

// Warnings are what serve says once at start-up about settings that work
// but are likely mistakes in a store that sells: links that only this
// machine can open, invoices without the seller's identity.
func (c *Config) Warnings() []string {
	var out []string
	if c.baseURLDefaulted && !IsLoopbackAddr(c.Listen) {
		out = append(out, fmt.Sprintf("--base-url is not set: the links in emails point to %s, which only this machine opens; "+
			"set it to the store's public address", c.BaseURL))
	}
	var missing []string
	for _, f := range []struct{ flag, value string }{
		{"--seller-address", c.SellerAddress}, {"--seller-registration", c.SellerRegistration}, {"--seller-vat-number", c.SellerVATNumber},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("%s not set: invoices, the legal notice and the withdrawal form are printed without them; "+
			"set them before selling", strings.Join(missing, ", ")))
	}
	return out
}

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

// Default retention periods (see --retain-activity, --retain-closed-tickets).
const (
	DefaultRetainActivity      = 365 * 24 * time.Hour
	DefaultRetainClosedTickets = 3 * 365 * 24 * time.Hour
)

// spanFlag is a duration that also takes days ("365d") and years of 365
// days ("3y"): retention periods are counted in those.
type spanFlag struct{ d *time.Duration }

func (f spanFlag) String() string {
	if f.d == nil {
		return ""
	}
	if *f.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*f.d/(24*time.Hour)), 10) + "d"
	}
	return f.d.String()
}

func (f spanFlag) Set(v string) error {
	d, err := ParseSpan(v)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// ParseSpan reads "365d", "3y" (365-day years) or a Go duration ("720h").
func ParseSpan(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n := len(v); n > 1 && (v[n-1] == 'd' || v[n-1] == 'y') {
		k, err := strconv.Atoi(v[:n-1])
		if err != nil || k <= 0 || k > 100*366 {
			return 0, fmt.Errorf("want a number of days or years, as 365d or 3y")
		}
		days := k
		if v[n-1] == 'y' {
			days = k * 365
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a duration such as 365d, 3y or 720h")
	}
	return d, nil
}

// IsLoopbackAddr reports whether addr is host:port with a loopback host
// (localhost, 127.0.0.0/8, ::1).
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
