package config

import (
	"encoding/base64"
	"encoding/hex"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/testfifo"

	"comptoir/internal/secretbox"
)

func parse(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c := Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return nil, err
	}
	return c, c.Resolve()
}

func TestDefaults(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "sqlite:comptoir-data/comptoir.db" || c.BaseURL != "http://localhost:8080" || c.MailFrom != "support@localhost" ||
		c.StripeCheckoutOrigin != "https://checkout.stripe.com" || c.RequireStaffTOTP {
		t.Fatalf("defaults: %+v", c)
	}
}

// The store's zone is Paris unless told, and the business hours of the
// desk are the store's unless --sla-zone says otherwise.
func TestZoneDefaultsAndSLAZoneFollowsIt(t *testing.T) {
	for _, tc := range []struct {
		args              []string
		wantZone, wantSLA string
	}{
		{nil, "Europe/Paris", "Europe/Paris"},
		{[]string{"--zone", "UTC"}, "UTC", "UTC"},
		{[]string{"--zone", "America/Montreal", "--sla-zone", "Europe/Paris"}, "America/Montreal", "Europe/Paris"},
	} {
		c, err := parse(t, tc.args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Zone != tc.wantZone || c.Location.String() != tc.wantZone || c.SLAZone != tc.wantSLA {
			t.Errorf("%v: zone %q (%s), SLA zone %q; want %q, %q", tc.args, c.Zone, c.Location, c.SLAZone, tc.wantZone, tc.wantSLA)
		}
	}
}

func TestFlagBeatsEnvAndEnvBeatsDefault(t *testing.T) {
	c, err := parse(t, []string{"--listen", "127.0.0.1:9000"}, map[string]string{
		"COMPTOIR_LISTEN": "127.0.0.1:7000", "COMPTOIR_DATA_DIR": "/srv/c", "COMPTOIR_SUPPORT_ADDRESS": "help@shop.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.DataDir != "/srv/c" || c.DatabaseURL != "sqlite:/srv/c/comptoir.db" || c.SupportAddress != "help@shop.example" {
		t.Fatalf("got %+v", c)
	}
}

func TestSecretsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	os.WriteFile(path, []byte("postgres://u:secret@db/comptoir\n"), 0o600)
	c, err := parse(t, nil, map[string]string{"COMPTOIR_DATABASE_URL_FILE": path})
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://u:secret@db/comptoir" {
		t.Fatalf("DatabaseURL = %q", c.DatabaseURL)
	}
	// Only secrets may come from files.
	c, err = parse(t, nil, map[string]string{"COMPTOIR_LISTEN_FILE": path})
	if err != nil || c.Listen != "localhost:8080" {
		t.Fatalf("a _FILE for a non-secret must be ignored: %+v %v", c, err)
	}
	if _, err := parse(t, nil, map[string]string{"COMPTOIR_DATABASE_URL_FILE": "/nonexistent/x"}); !IsUsage(err) {
		t.Fatalf("a missing secret file must be a usage error, got %v", err)
	}
}

func TestBadValuesAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--base-url", "ftp://x"},
		{"--support-address", "not an address"},
		{"--smtp-relay", "http://relay"},
		{"--log-level", "loud"},
		{"--data-dir", ""},
		{"--blob-url", "https://bucket.example/x"},
		{"--blob-url", "s3:///prefix"},
		{"--blob-access-key", "AK"},
		{"--blob-url", "s3://b", "--blob-secret-key", "SK"},
		{"--imap-url", "pop3://desk@mail.example.com"},
		{"--imap-url", "imaps://desk@mail.example.com", "--imap-poll-interval", "10ms"},
		{"--sla-warn-before", "-1h"},
		{"--sla-hours", "mon-fri 18:00-09:00"},
		{"--sla-hours", "mon-fri 09:00-18:00", "--sla-zone", "Mars/Olympus"},
		{"--sla-holidays", "2026-12-25"},
		{"--zone", "Mars/Olympus"},
		{"--zone", "Local"},
		{"--stripe-checkout-origin", "https://checkout.stripe.com/pay"},
		{"--stripe-checkout-origin", "https://x; script-src *"},
		{"--trusted-proxies", "10.0.0.0/33"},
		{"--trusted-proxies", "127.0.0.1,nginx"},
		{"--debug-listen", "0.0.0.0:6060"},
		{"--debug-listen", ":6060"},
		{"--debug-listen", "shop.example:6060"},
		{"--debug-listen", "127.0.0.1"},
		{"--smtp-max-connections", "-1"},
		{"--smtp-max-connections-per-ip", "-1"},
		{"--inbound-trusted-authserv-id", "mx.example.net; dmarc=pass"},
		{"--inbound-trusted-authserv-id", "mx.example.net 1"},
		{"--inbound-trusted-authserv-id", "mx1.example.net,,mx2.example.net"},
		{"--inbound-trusted-authserv-id", "mx.example.net", "--inbound-trusted-relays", "mx.example.net"},
		{"--inbound-trusted-authserv-id", "mx.example.net", "--inbound-trusted-relays", "10.0.0.0/33"},
		{"--inbound-trusted-relays", "127.0.0.1"}, // vouches for nothing without the id
	} {
		if _, err := parse(t, args, nil); !IsUsage(err) {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}

// The profiler listens on loopback only.
func TestDebugListenIsLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:0", "localhost:6060"} {
		c, err := parse(t, []string{"--debug-listen", addr}, nil)
		if err != nil || c.DebugListen != addr {
			t.Errorf("%s: %v, %q", addr, err, c.DebugListen)
		}
	}
}

func TestBlobCredentialsFromFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ak"), []byte("AKIAEXAMPLE\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "sk"), []byte("s3cr3t\n"), 0o600)
	c, err := parse(t, []string{"--blob-url", "s3://shop/uploads?endpoint=127.0.0.1:9000"}, map[string]string{
		"COMPTOIR_BLOB_ACCESS_KEY_FILE": filepath.Join(dir, "ak"), "COMPTOIR_BLOB_SECRET_KEY_FILE": filepath.Join(dir, "sk"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.BlobAccessKey != "AKIAEXAMPLE" || c.BlobSecretKey != "s3cr3t" {
		t.Fatalf("blob credentials %q %q", c.BlobAccessKey, c.BlobSecretKey)
	}
}

// --inbound-trusted-authserv-id names one mail server or several (one
// per MX host), from the command line or the environment.
func TestInboundTrustedAuthservIDs(t *testing.T) {
	c, err := parse(t, nil, map[string]string{"COMPTOIR_INBOUND_TRUSTED_AUTHSERV_ID": "mx1.example.net, mx2.example.net"})
	if err != nil || !slices.Equal(c.InboundTrustedAuthservIDs, []string{"mx1.example.net", "mx2.example.net"}) {
		t.Fatalf("got %q, %v", c.InboundTrustedAuthservIDs, err)
	}
	if c, err = parse(t, nil, nil); err != nil || c.InboundTrustedAuthservIDs != nil {
		t.Fatalf("unset: got %q, %v", c.InboundTrustedAuthservIDs, err)
	}
}

func TestIMAPSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imap")
	os.WriteFile(path, []byte("mailbox-secret\n"), 0o600)
	c, err := parse(t, []string{"--imap-url", "imaps://desk@mail.example.com/Support"},
		map[string]string{"COMPTOIR_IMAP_PASSWORD_FILE": path, "COMPTOIR_IMAP_POLL_INTERVAL": "30s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.IMAPPassword != "mailbox-secret" || c.IMAPPollInterval.Seconds() != 30 || c.SLAWarnBefore.Hours() != 6 {
		t.Fatalf("got %+v", c)
	}
}

func TestSellerAndVATSettings(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SellerCountry != "FR" || c.PricesExcludeVAT || c.SellerName != "comptoir" {
		t.Fatalf("defaults: country %q, exclude VAT %v, name %q", c.SellerCountry, c.PricesExcludeVAT, c.SellerName)
	}
	c, err = parse(t, []string{"--prices-include-vat=false", "--seller-country", "be"}, map[string]string{"COMPTOIR_SELLER_NAME": "Zoé SRL"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.PricesExcludeVAT || c.SellerCountry != "BE" || c.SellerName != "Zoé SRL" {
		t.Fatalf("set: %+v", c)
	}
	if c, err = parse(t, nil, map[string]string{"COMPTOIR_PRICES_INCLUDE_VAT": "false"}); err != nil || !c.PricesExcludeVAT {
		t.Fatalf("from the environment: %v %v", c, err)
	}
	if _, err := parse(t, []string{"--seller-country", "France"}, nil); !IsUsage(err) {
		t.Fatalf("a country name was accepted: %v", err)
	}
}

func TestRetentionSpans(t *testing.T) {
	for in, want := range map[string]time.Duration{"365d": 365 * 24 * time.Hour, "3y": 3 * 365 * 24 * time.Hour, "720h": 720 * time.Hour} {
		if got, err := ParseSpan(in); err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0d", "-3y", "3 years", "y", "1.5y"} {
		if _, err := ParseSpan(in); err == nil {
			t.Errorf("ParseSpan(%q) accepted", in)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c := Register(fs)
	if err := fs.Parse([]string{"--retain-activity", "90d"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Resolve(); err != nil {
		t.Fatal(err)
	}
	if c.RetainActivity != 90*24*time.Hour || c.RetainClosedTickets != DefaultRetainClosedTickets {
		t.Fatalf("retention: %v %v", c.RetainActivity, c.RetainClosedTickets)
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Register(fs)
	if err := fs.Parse([]string{"--retain-closed-tickets", "soon"}); err == nil {
		t.Fatal("a bad retention was accepted")
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil || !c.TrustedProxyNets.Empty() {
		t.Fatalf("default must trust nobody: %v %v", c.TrustedProxyNets, err)
	}
	c, err = parse(t, []string{"--trusted-proxies", "127.0.0.1, 10.0.0.0/8,fd00::/8"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TrustedProxyNets.String(); got != "127.0.0.1/32,10.0.0.0/8,fd00::/8" {
		t.Fatalf("parsed %q", got)
	}
	if got := c.TrustedProxyNets.Client("10.1.1.1:5000", []string{"203.0.113.7"}); got != "203.0.113.7" {
		t.Fatalf("client behind a trusted proxy: %q", got)
	}
	c, err = parse(t, nil, map[string]string{"COMPTOIR_TRUSTED_PROXIES": "192.168.0.0/16"})
	if err != nil || c.TrustedProxyNets.String() != "192.168.0.0/16" {
		t.Fatalf("from the environment: %v %v", c.TrustedProxyNets, err)
	}
	_, err = parse(t, nil, map[string]string{"COMPTOIR_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"})
	if !IsUsage(err) || !strings.Contains(err.Error(), "--trusted-proxies") || !strings.Contains(err.Error(), `"proxy.internal"`) {
		t.Fatalf("a bad entry must be a usage error naming the flag and the entry, got %v", err)
	}
}

// --inbound-trusted-relays is read like --trusted-proxies; a bad entry is
// a usage error naming the flag and the entry.
func TestInboundTrustedRelays(t *testing.T) {
	c, err := parse(t, []string{"--inbound-trusted-authserv-id", "mx.example.net"}, nil)
	if err != nil || !c.InboundTrustedRelayNets.Empty() {
		t.Fatalf("default: %v %v", c.InboundTrustedRelayNets, err)
	}
	c, err = parse(t, nil, map[string]string{"COMPTOIR_INBOUND_TRUSTED_AUTHSERV_ID": "mx.example.net",
		"COMPTOIR_INBOUND_TRUSTED_RELAYS": "127.0.0.1, 10.0.0.0/8,::1"})
	if err != nil || c.InboundTrustedRelayNets.String() != "127.0.0.1/32,10.0.0.0/8,::1/128" {
		t.Fatalf("from the environment: %v %v", c.InboundTrustedRelayNets, err)
	}
	_, err = parse(t, []string{"--inbound-trusted-authserv-id", "mx.example.net", "--inbound-trusted-relays", "10.0.0.0/8,mx.internal"}, nil)
	if !IsUsage(err) || !strings.Contains(err.Error(), "--inbound-trusted-relays") || !strings.Contains(err.Error(), `"mx.internal"`) {
		t.Fatalf("a bad entry must be a usage error naming the flag and the entry, got %v", err)
	}
}

// --secret-key takes 32 bytes in hex or base64, from the flag, the
// environment or a file; anything else is a usage error that says how to
// make a key and does not repeat the value.
func TestSecretKey(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil || c.SealingKey != nil {
		t.Fatalf("default: key %v, %v (want none: the data directory's key file)", c.SealingKey, err)
	}
	var want secretbox.Key
	for i := range want {
		want[i] = byte(i*7 + 250)
	}
	hexKey := hex.EncodeToString(want[:])
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(want[:])+"\n"), 0o600)
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"hex flag", []string{"--secret-key", hexKey}, nil},
		{"base64 flag", []string{"--secret-key", base64.StdEncoding.EncodeToString(want[:])}, nil},
		{"base64url unpadded", []string{"--secret-key", base64.RawURLEncoding.EncodeToString(want[:])}, nil},
		{"environment", nil, map[string]string{"COMPTOIR_SECRET_KEY": hexKey}},
		{"file", nil, map[string]string{"COMPTOIR_SECRET_KEY_FILE": keyFile}},
	} {
		c, err := parse(t, tt.args, tt.env)
		if err != nil || c.SealingKey == nil || *c.SealingKey != want {
			t.Errorf("%s: key %x, %v", tt.name, c.SealingKey, err)
		}
	}
	for _, bad := range []string{hexKey[:62], hexKey + "00", base64.StdEncoding.EncodeToString(want[:16]), "my own passphrase", strings.Repeat("0", 64)} {
		_, err := parse(t, []string{"--secret-key", bad}, nil)
		if !IsUsage(err) || !strings.Contains(err.Error(), "--secret-key") || !strings.Contains(err.Error(), "openssl rand -hex 32") ||
			strings.Contains(err.Error(), bad) {
			t.Errorf("--secret-key %q: got %v, want a usage error saying how to make a key, without the value", bad, err)
		}
	}
}

// Cookies are Secure behind an https base URL however its scheme is
// spelled: "HTTPS://" is https too.
func TestSecureCookiesWhateverTheSchemesCase(t *testing.T) {
	for base, secure := range map[string]bool{"https://shop.example": true, "HTTPS://shop.example/": true, "Https://shop.example": true,
		"http://shop.example": false, "HTTP://shop.example": false} {
		c, err := parse(t, []string{"--base-url", base}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.SecureCookies() != secure || !strings.HasPrefix(c.BaseURL, strings.ToLower(base[:5])) {
			t.Errorf("--base-url %s: SecureCookies %v, BaseURL %q", base, c.SecureCookies(), c.BaseURL)
		}
	}
}

// A secret file that never ends (COMPTOIR_SECRET_KEY_FILE=/dev/zero) was
// read whole: the process grew until the kernel killed it. It is now bad
// configuration, found after reading little more than the limit.
func TestSecretFileThatNeverEnds(t *testing.T) {
	path, written := testfifo.Endless(t, 256<<20)
	_, err := parse(t, nil, map[string]string{"COMPTOIR_SECRET_KEY_FILE": path})
	if !IsUsage(err) || !strings.Contains(err.Error(), "COMPTOIR_SECRET_KEY_FILE: "+path+" is larger than 64 KiB") {
		t.Fatalf("err %v; want a usage error naming the file and the limit", err)
	}
	if n := written(); n > 4<<20 {
		t.Fatalf("%d bytes were read from an endless secret file", n)
	}
}

// A bad value in the environment said only "COMPTOIR_IMAP_POLL_INTERVAL:
// parse error": which value, and for which flag, as the flag package says
// of a flag; never a secret's value.
func TestBadEnvironmentValueIsNamed(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	Register(fs)
	fs.Bool("demo", false, "")
	for _, tc := range []struct{ env, value, want string }{
		{"COMPTOIR_IMAP_POLL_INTERVAL", "soon", `invalid value "soon" for COMPTOIR_IMAP_POLL_INTERVAL (--imap-poll-interval): parse error`},
		{"COMPTOIR_DEMO", "maybe", `invalid value "maybe" for COMPTOIR_DEMO (--demo): parse error`},
		{"COMPTOIR_RETAIN_ACTIVITY", "forever", `invalid value "forever" for COMPTOIR_RETAIN_ACTIVITY (--retain-activity): want a duration such as 365d, 3y or 720h`},
	} {
		err := ApplyEnv(fs, func(k string) string {
			if k == tc.env {
				return tc.value
			}
			return ""
		})
		if !IsUsage(err) || err.Error() != tc.want {
			t.Errorf("%s=%s: %v; want %q", tc.env, tc.value, err, tc.want)
		}
	}
}

// An empty --listen was reported as a bad --base-url, the flag not given.
func TestEmptyListenIsNamed(t *testing.T) {
	_, err := parse(t, []string{"--listen", ""}, nil)
	if !IsUsage(err) || err.Error() != "--listen must not be empty (host:port, such as localhost:8080)" {
		t.Fatalf("err %v", err)
	}
}

// A base URL with a query, a fragment or a user was taken: every emailed
// link, the base URL and a path, then lost its path
// ("https://shop.example?ref=x/orders/…") or showed the password.
func TestBaseURLWithAQueryFragmentOrUserRefused(t *testing.T) {
	for _, base := range []string{"https://shop.example?ref=mail", "https://shop.example/?", "https://shop.example#top", "https://shop.example/#",
		"https://admin:s3cret@shop.example"} {
		_, err := parse(t, []string{"--base-url", base}, nil)
		if !IsUsage(err) || !strings.Contains(err.Error(), "without a query, a fragment or a user") {
			t.Errorf("--base-url %s: %v; want a usage error", base, err)
		}
	}
	for _, base := range []string{"https://shop.example", "https://shop.example/", "https://shop.example:8443/boutique"} {
		if _, err := parse(t, []string{"--base-url", base}, nil); err != nil {
			t.Errorf("--base-url %s: %v", base, err)
		}
	}
}

// The default base URL of a store listening on every interface was that
// address, which no browser opens: links in emails said
// "http://0.0.0.0:8080/…". It is localhost, as for ":8080", and serve
// warns that the links only work on this machine; it says too, once,
// which seller settings invoices go without.
func TestDefaultBaseURLAndStartupWarnings(t *testing.T) {
	for listen, want := range map[string]string{":8080": "http://localhost:8080", "0.0.0.0:8080": "http://localhost:8080",
		"[::]:8080": "http://localhost:8080", "127.0.0.1:8080": "http://127.0.0.1:8080", "10.0.0.5:8080": "http://10.0.0.5:8080"} {
		c, err := parse(t, []string{"--listen", listen}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL != want {
			t.Errorf("--listen %s: base URL %q, want %q", listen, c.BaseURL, want)
		}
		warned := len(c.Warnings()) > 0 && strings.HasPrefix(c.Warnings()[0], "--base-url is not set: the links in emails point to "+want)
		if loopback := IsLoopbackAddr(listen); warned == loopback {
			t.Errorf("--listen %s: warnings %q", listen, c.Warnings())
		}
	}
	c, err := parse(t, []string{"--listen", "0.0.0.0:8080", "--base-url", "https://shop.example", "--seller-address", "1 rue de la Paix, Paris"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "--seller-registration, --seller-vat-number not set: invoices") {
		t.Errorf("warnings %q; want only the missing seller settings", w)
	}
	c, err = parse(t, []string{"--seller-address", "1 rue de la Paix", "--seller-registration", "RCS Paris 123", "--seller-vat-number", "FR12345678901"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q for a complete configuration on localhost", w)
	}
}

// A secret given both in its variable and in a file is a mistake to say,
// not to settle: the variable won, and a store moved to
// COMPTOIR_DATABASE_URL_FILE with an old COMPTOIR_DATABASE_URL left in its
// environment used the old database without a word. The command line
// still wins over both.
func TestSecretInBothItsVariableAndAFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	os.WriteFile(path, []byte("postgres://u:secret@new-db/comptoir\n"), 0o600)
	env := map[string]string{"COMPTOIR_DATABASE_URL_FILE": path, "COMPTOIR_DATABASE_URL": "postgres://u:secret@old-db/comptoir"}
	_, err := parse(t, nil, env)
	if !IsUsage(err) || err.Error() != "both COMPTOIR_DATABASE_URL and COMPTOIR_DATABASE_URL_FILE are set: keep one" {
		t.Fatalf("err %v; want a usage error naming both", err)
	}
	c, err := parse(t, []string{"--database-url", "sqlite:x.db"}, env)
	if err != nil || c.DatabaseURL != "sqlite:x.db" {
		t.Fatalf("the flag with both set: %q %v", c.DatabaseURL, err)
	}
}
