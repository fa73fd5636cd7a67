// Package cardpaytest helps tests that involve card payments: it finds the
// stripe-mock server of the test run, puts a recording proxy in front of it
// so a test sees the very requests stripe-go sent (headers included), and
// builds webhook events signed as Stripe signs them.
//
// stripe-mock validates every request against Stripe's OpenAPI
// specification but keeps no state and answers from fixtures; a test that
// needs a particular outcome (a declined card, a refund still pending) has
// the proxy answer or rewrite that one response, while everything else is
// stripe-mock's.
package cardpaytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// SecretKey is a key stripe-mock accepts (sk_test_ and one more part).
const SecretKey = "sk_test_comptoir"

// WebhookSecret signs the events of tests.
const WebhookSecret = "whsec_comptoir_test"

// EnvURL is the variable make test sets to the stripe-mock it started.
const EnvURL = "COMPTOIR_TEST_STRIPE_URL"

// StripeURL returns the base URL of the run's stripe-mock. Without one the
// test is skipped with a message saying how to get one, except under
// CI=true, where a missing piece is a failure, never a skip.
func StripeURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		msg := EnvURL + " is unset: this test needs stripe-mock. make test starts one; by hand: " +
			"go install github.com/stripe/stripe-mock@v0.203.0 && stripe-mock -http-port 12111 & " +
			"then " + EnvURL + "=http://127.0.0.1:12111"
		if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// A clear failure now beats a confusing one in the middle of a test.
	req, _ := http.NewRequest(http.MethodGet, strings.TrimRight(u, "/")+"/v1/balance", nil)
	req.SetBasicAuth(SecretKey, "")
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("stripe-mock at %s (%s) does not answer: %v", u, EnvURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stripe-mock at %s answered GET /v1/balance with %s", u, resp.Status)
	}
	return strings.TrimRight(u, "/")
}

// Request is one request as the SDK sent it.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// Form holds the decoded form body (POST) or query (GET).
	Form url.Values
	// Files holds the bytes of the files of a multipart body, by field.
	Files map[string][]byte
}

// IdempotencyKey is the Idempotency-Key header.
func (r Request) IdempotencyKey() string { return r.Header.Get("Idempotency-Key") }

type rule struct {
	match  func(Request) bool
	status int                  // answer this instead of forwarding, when non-zero
	body   string               // with this body
	edit   func(map[string]any) // or forward, then edit the JSON answer
}

// Recorder is a reverse proxy to stripe-mock that records every request.
type Recorder struct {
	srv      *httptest.Server
	upstream string
	client   *http.Client
	mu       sync.Mutex
	requests []Request
	rules    []rule
}

// NewRecorder starts a recording proxy to upstream (a stripe-mock base
// URL) for the length of the test.
func NewRecorder(t testing.TB, upstream string) *Recorder {
	t.Helper()
	r := &Recorder{upstream: strings.TrimRight(upstream, "/"), client: &http.Client{Timeout: 30 * time.Second}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the proxy's base URL, to use as the Stripe API URL.
func (r *Recorder) URL() string { return r.srv.URL }

// Requests returns the recorded requests with the given method and path
// (either empty matches all), in order.
func (r *Recorder) Requests(method, path string) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, q := range r.requests {
		if (method == "" || q.Method == method) && (path == "" || q.Path == path) {
			out = append(out, q)
		}
	}
	return out
}

// Respond makes the proxy answer the matching requests itself with status
// and body (a Stripe error object, say), instead of forwarding them.
func (r *Recorder) Respond(match func(Request) bool, status int, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, rule{match: match, status: status, body: body})
}

// Rewrite forwards the matching requests to stripe-mock (which validates
// them) and lets edit change its JSON answer, e.g. the status of a
// PaymentIntent, which stripe-mock always takes from a fixture.
func (r *Recorder) Rewrite(match func(Request) bool, edit func(map[string]any)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, rule{match: match, edit: edit})
}

// ClearRules makes the proxy forward everything unchanged again.
func (r *Recorder) ClearRules() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = nil
}

// To matches requests by method and path.
func To(method, path string) func(Request) bool {
	return func(q Request) bool { return q.Method == method && q.Path == path }
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := Request{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Form: req.URL.Query()}
	if req.Method == http.MethodPost {
		if mt, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "multipart/form-data" {
			// A file upload (/v1/files): the fields, and each file as
			// its name and size in bytes.
			rec.Form, rec.Files, err = multipartFields(body, params["boundary"])
		} else {
			rec.Form, err = url.ParseQuery(string(body))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	r.mu.Lock()
	r.requests = append(r.requests, rec)
	var applied *rule
	for i := range r.rules {
		if r.rules[i].match(rec) {
			applied = &r.rules[i]
			break
		}
	}
	r.mu.Unlock()

	if applied != nil && applied.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_cardpaytest")
		w.WriteHeader(applied.status)
		io.WriteString(w, applied.body)
		return
	}

	up, err := http.NewRequest(req.Method, r.upstream+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	up.Header = req.Header.Clone()
	resp, err := r.client.Do(up)
	if err != nil {
		http.Error(w, "stripe-mock: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if applied != nil && applied.edit != nil && resp.StatusCode == http.StatusOK {
		var obj map[string]any
		if err := json.Unmarshal(out, &obj); err != nil {
			http.Error(w, "rewrite: "+err.Error(), http.StatusBadGateway)
			return
		}
		applied.edit(obj)
		if out, err = json.Marshal(obj); err != nil {
			http.Error(w, "rewrite: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	for k, vs := range resp.Header {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// multipartFields reads a multipart body: text fields as sent, files as
// "<name> <size>" in the form (what was uploaded) and their bytes apart
// (whether two uploads are the same).
func multipartFields(body []byte, boundary string) (url.Values, map[string][]byte, error) {
	out, files := url.Values{}, map[string][]byte{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out, files, nil
		}
		if err != nil {
			return nil, nil, err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, nil, err
		}
		if part.FileName() != "" {
			out.Add(part.FormName(), fmt.Sprintf("%s %d", part.FileName(), len(data)))
			files[part.FormName()] = data
			continue
		}
		out.Add(part.FormName(), string(data))
	}
}

// StripeError is the body of a Stripe API error.
func StripeError(typ, code, message string, extra map[string]any) string {
	e := map[string]any{"type": typ, "message": message}
	if code != "" {
		e["code"] = code
	}
	for k, v := range extra {
		e[k] = v
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// Event builds a Stripe event of the given type around object and signs it
// with secret now, as Stripe would deliver it: the payload and its
// Stripe-Signature header. The event carries the SDK's API version, which
// webhook.ConstructEvent requires.
func Event(t testing.TB, secret, eventID string, typ stripe.EventType, object map[string]any) (payload []byte, sigHeader string) {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "api_version": stripe.APIVersion, "created": time.Now().Unix(),
		"livemode": false, "pending_webhooks": 1, "type": string(typ),
		"data": map[string]any{"object": object},
	})
	if err != nil {
		t.Fatal(err)
	}
	return payload, Sign(secret, payload, time.Now())
}

// Sign returns the Stripe-Signature header of payload signed with secret at
// time at.
func Sign(secret string, payload []byte, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// EventID returns a fresh event id.
func EventID() string {
	eventSeq.Lock()
	defer eventSeq.Unlock()
	eventSeq.n++
	return fmt.Sprintf("evt_test_%d_%d", time.Now().UnixNano(), eventSeq.n)
}

var eventSeq struct {
	sync.Mutex
	n int
}
