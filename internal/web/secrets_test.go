package web_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/blob/s3test"
	"comptoir/internal/config"
	"comptoir/internal/testlog"
)

// Secrets never show: a store configured with distinctive secrets, driven
// through failures (mail relay down, mailbox down, forged webhooks, bad
// requests), writes none of them in its logs (at debug level), its error
// pages or its metrics.
func TestSecretsNeverAppearInLogsPagesOrMetrics(t *testing.T) {
	secrets := map[string]string{
		"stripe key":         "sk_test_SeCrEtStripeKey4242",
		"stripe webhook":     "whsec_SeCrEtStripeWebhook",
		"fulfilment webhook": base64.StdEncoding.EncodeToString([]byte("SeCrEt fulfilment key of 32 b!!!")),
		"smtp password":      "SeCrEtSmtpPassw0rd",
		"imap password":      "SeCrEtImapPassw0rd",
		"blob secret key":    "SeCrEtBlobKey",
		"blob access key":    "SeCrEtBlobAccess",
		"sealing key":        "5ec2e75e5ec2e75e5ec2e75e5ec2e75e5ec2e75e5ec2e75e5ec2e75e5ec2e75e",
	}
	s3 := s3test.Start(t)
	logs := &testlog.Buffer{}
	h := apptest.StartLogged(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = secrets["stripe key"], secrets["stripe webhook"], "http://127.0.0.1:1"
		c.FulfilmentWebhookSecret = "whsec_" + secrets["fulfilment webhook"]
		c.SMTPRelay = "smtp://mailer:" + secrets["smtp password"] + "@127.0.0.1:1"
		c.IMAPURL, c.IMAPPassword = "imap+insecure://support@127.0.0.1:1/INBOX", secrets["imap password"]
		c.BlobURL, c.BlobAccessKey, c.BlobSecretKey = s3.URL("secrets"), secrets["blob access key"], secrets["blob secret key"]
		c.SecretKey = secrets["sealing key"]
		c.LogLevel = "debug"
		if u, err := url.Parse(c.DatabaseURL); err == nil && strings.HasPrefix(u.Scheme, "postgres") {
			// The test cluster trusts loopback: any password is accepted.
			secrets["database password"] = "SeCrEtDbPassw0rd"
			u.User = url.UserPassword(u.User.Username(), secrets["database password"])
			c.DatabaseURL = u.String()
		}
	}, logs)
	h.User(t, account.RoleCustomer, "ana@example.fr")
	c := h.NewClient(t)
	var pages []string
	get := func(path string) {
		pages = append(pages, path+"\n"+c.Get(path).Body)
	}
	// Mail goes to a relay that is down: the sign-up's welcome or reset
	// mail fails and is logged.
	r := c.PostForm("/reset", url.Values{"email": {"ana@example.fr"}})
	pages = append(pages, r.Body)
	for _, p := range []string{"/", "/no/such/page", "/metrics", "/healthz", "/readyz", "/api/v1/me", "/signin?next=//evil"} {
		get(p)
	}
	forged := []*http.Request{}
	stripe, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/webhooks/stripe", strings.NewReader(`{"id":"evt_1"}`))
	stripe.Header.Set("Stripe-Signature", "t=1,v1=00")
	forged = append(forged, stripe)
	ful, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/orders/ord_x/delivery", strings.NewReader(`{"delivered":1}`))
	ful.Header.Set("webhook-id", "msg_1")
	ful.Header.Set("webhook-timestamp", "1")
	ful.Header.Set("webhook-signature", "v1,AAAA")
	forged = append(forged, ful)
	for _, req := range forged {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		pages = append(pages, req.URL.Path+"\n"+b.String())
	}
	// The mail job tries the relay that is down and logs the failure.
	h.Clock.Advance(2 * time.Minute)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "127.0.0.1:1") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	all := logs.String() + "\n" + strings.Join(pages, "\n")
	if !strings.Contains(all, "127.0.0.1:1") {
		t.Logf("logs:\n%s", logs.String())
		t.Fatal("no failure to reach the relay or the mailbox was logged: the test saw nothing")
	}
	for name, secret := range secrets {
		if i := strings.Index(all, secret); i >= 0 {
			t.Errorf("the %s appears: …%s…", name, all[max(0, i-200):min(len(all), i+len(secret)+50)])
		}
	}
}
