package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"comptoir/internal/benchdata"
	"comptoir/internal/db"
	"comptoir/internal/policy"
)

// env is what a scenario runs against: one engine's loaded store and its
// running server.
type env struct {
	ctx    context.Context
	engine string
	// base is the server's URL (http://127.0.0.1:PORT).
	base string
	set  *benchdata.Dataset
	// smtp is the inbound SMTP listener (host:port), supportAddr the
	// address it takes mail for.
	smtp, supportAddr string
	// dbURL is the store's database, read while the server runs to see
	// its background work catch up (drain).
	dbURL string
	// acked collects what the server acknowledged (order ids), for the
	// checks made once it has stopped.
	mu    sync.Mutex
	acked map[string][]string
	// openScans makes the engine's two scan stores (scans.go), the first
	// time a scan scenario asks for them.
	openScans func() (*scanPair, error)
	scans     *scanPair
	scanErr   error
}

func (e *env) ack(scenario, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.acked == nil {
		e.acked = map[string][]string{}
	}
	e.acked[scenario] = append(e.acked[scenario], id)
}

// Baselines a scenario's throughput is compared with.
const (
	baseDBInsert     = "db single-row insert"
	baseBareTemplate = "bare html/template handler"
	// baseDBCheckoutTx is a diagnostic baseline: transactions of as many
	// plain inserts as a checkout's own transaction writes rows, at the
	// same durability and concurrency as baseDBInsert. The checkout's
	// ratio to it says how close comptoir is to the database for that much
	// writing; its ratio to baseDBInsert is the target.
	baseDBCheckoutTx = "db 14-row transaction"
)

// checkoutTxRows is how many rows a balance checkout's own transaction
// writes: the order, its line, the consent record, the balance and its
// entry, three audit lines, the confirmation email, the proof choice, the
// idempotency record, the invoice, its line and its pending notice. The
// invoice's number, its email and the sending jobs follow in transactions
// of their own, shared between checkouts.
const checkoutTxRows = 14

// scenario is one thing the harness measures. A scenario whose feature is
// not built yet has NotYet set and no Run: it is listed, reported as not
// available, and never met. Making it available is writing its Run.
type scenario struct {
	Name string
	// Once: measured once per run, not per engine (a library call).
	Once bool
	// Baseline is the baseline the ratio is taken against ("" for none).
	Baseline string
	// Compare names a second baseline, reported in the note only.
	Compare string
	Target  Target
	// Latency: measured at the latency concurrency (a few people at once)
	// rather than at the throughput concurrency.
	Latency bool
	// Serial: one call at a time (a periodic scan runs alone).
	Serial bool
	// RSSTarget, when set, adds a row judging the server's peak resident
	// memory during this scenario.
	RSSTarget float64
	NotYet    string
	// Diagnostic: run only when named in --only; it explains another
	// scenario's number rather than tracking a target.
	Diagnostic bool
	// Run measures the scenario.
	Run func(e *env, lim limits) (Sample, error)
	// Verify runs once the server has stopped, on the database itself.
	Verify func(ctx context.Context, e *env, dbURL string) (string, error)
}

// scenarios lists everything the harness measures, in the order it runs.
func scenarios() []scenario {
	return []scenario{
		storefrontProduct(),
		customerOrderList(),
		agentOrderList(),
		agentQueue(),
		checkoutBalance(true),
		checkoutBalance(false),
		claimFiling(),
		contactForm(),
		inboundEmail(),
		slaScan(),
		renewalScan(),
		policyEval(),
	}
}

// storefrontProduct: GET /shop/{slug}, anonymous, every product in turn.
func storefrontProduct() scenario {
	return scenario{
		Name: "storefront product page", Baseline: baseBareTemplate, Target: Target{RatioAtLeast, 0.5},
		Run: func(e *env, lim limits) (Sample, error) {
			prods := e.set.Products
			return runHTTP(e.ctx, "storefront", func(seq uint64, t *vegeta.Target) {
				t.Method, t.URL = http.MethodGet, e.base+"/shop/"+prods[seq%uint64(len(prods))].Slug
			}, status(http.StatusOK), false, lim), nil
		},
	}
}

// customerOrderList: GET /orders, a signed-in customer's order list (the
// newest page), customers of the pool in turn.
func customerOrderList() scenario {
	return scenario{
		Name: "customer order list", Target: Target{P99Under, 50}, Latency: true,
		Run: func(e *env, lim limits) (Sample, error) {
			pool := e.set.Pool
			return runHTTP(e.ctx, "orders", func(seq uint64, t *vegeta.Target) {
				p := pool[seq%uint64(len(pool))]
				t.Method, t.URL = http.MethodGet, e.base+"/orders"
				t.Header = http.Header{"Cookie": {"comptoir_session=" + p.Session}}
			}, status(http.StatusOK), false, lim), nil
		},
	}
}

// agentOrderList: GET /console/orders, the agents' list of every order,
// every other request filtered to the orders being processed.
func agentOrderList() scenario {
	return scenario{
		Name: "agent order list", Target: Target{P99Under, 50}, Latency: true,
		Run: func(e *env, lim limits) (Sample, error) {
			agents := e.set.Agents
			return runHTTP(e.ctx, "console-orders", func(seq uint64, t *vegeta.Target) {
				a := agents[seq%uint64(len(agents))]
				t.Method, t.URL = http.MethodGet, e.base+"/console/orders"
				if seq%2 == 1 {
					t.URL += "?status=processing"
				}
				t.Header = http.Header{"Cookie": {"comptoir_session=" + a.Session}}
			}, status(http.StatusOK), false, lim), nil
		},
	}
}

// agentQueue: GET /console/tickets, the support desk's queue (tickets not
// closed, nearest promised reply first), agents in turn, every other
// request filtered to the agent's own tickets.
func agentQueue() scenario {
	return scenario{
		Name: "agent queue page", Target: Target{P99Under, 50}, Latency: true,
		Run: func(e *env, lim limits) (Sample, error) {
			agents := e.set.Agents
			if e.set.Rows["tickets"] == 0 {
				return Sample{}, fmt.Errorf("the dataset has no tickets (%v)", e.set.Skipped)
			}
			return runHTTP(e.ctx, "console-queue", func(seq uint64, t *vegeta.Target) {
				a := agents[seq%uint64(len(agents))]
				t.Method, t.URL = http.MethodGet, e.base+"/console/tickets"
				if seq%2 == 1 {
					t.URL += "?filter=mine"
				}
				t.Header = http.Header{"Cookie": {"comptoir_session=" + a.Session}}
			}, status(http.StatusOK), false, lim), nil
		},
	}
}

// checkoutBalance: POST /api/v1/orders paid from the balance, one service
// line, a fresh idempotency key each time, customers of the pool in turn.
// Every order acknowledged (201) is checked afterwards in the database.
// Without keys, it is a diagnostic: what the idempotency key's own write
// costs.
func checkoutBalance(keys bool) scenario {
	name := "checkout with balance"
	sc := scenario{Name: name, Baseline: baseDBInsert, Compare: baseDBCheckoutTx, Target: Target{RatioAtLeast, 1.0}, RSSTarget: 150}
	if !keys {
		name = "checkout without idempotency key (diagnostic)"
		sc = scenario{Name: name, Baseline: baseDBInsert, Diagnostic: true}
	}
	sc.Verify = verifyOrders(name)
	sc.Run = func(e *env, lim limits) (Sample, error) {
		pool, prods := e.set.Pool, e.set.ServiceProducts()
		if len(prods) == 0 {
			return Sample{}, fmt.Errorf("no service product in the dataset")
		}
		ok := func(res *vegeta.Result) bool {
			if res.Code != http.StatusCreated {
				return false
			}
			if id := jsonString(res.Body, "id"); id != "" {
				e.ack(name, id)
			}
			return true
		}
		s := runHTTP(e.ctx, "checkout", func(seq uint64, t *vegeta.Target) {
			p := pool[seq%uint64(len(pool))]
			prod := prods[(seq/uint64(len(pool)))%uint64(len(prods))]
			t.Method, t.URL = http.MethodPost, e.base+"/api/v1/orders"
			t.Body = []byte(`{"lines":[{"product_id":"` + prod.ID + `","quantity":` + strconv.FormatUint(1+seq%5, 10) +
				`}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"` +
				benchdata.PolicyVersion + `"}`)
			t.Header = http.Header{
				"Authorization": {"Bearer " + p.Token},
				"Content-Type":  {"application/json"},
			}
			if keys {
				t.Header.Set("Idempotency-Key", e.engine+"-checkout-"+strconv.FormatUint(seq, 10))
			}
		}, ok, true, lim)
		// What the window's checkouts left to do in the background: the
		// invoices' numbers and emails, the confirmations. A rate that only
		// lasts while that work piles up is not one a store can keep.
		if took, err := e.drain(drainDeadline); err != nil {
			s.Note = "background work not caught up: " + err.Error()
		} else if ok := len(s.Latencies); ok > 0 {
			s.Note = fmt.Sprintf("invoices numbered and emails sent %.1f s after the window: %.0f/s sustained",
				took.Seconds(), float64(ok)/(s.Elapsed+took).Seconds())
		}
		return s, nil
	}
	return sc
}

// drainDeadline bounds the wait for the background work to catch up.
const drainDeadline = 2 * time.Minute

// drain waits until no invoice waits for its number and no email is
// queued, and returns how long that took. Both counts are read from small
// indexes (invoices without a number, the mail queue): polling them does
// not load the store it measures.
func (e *env) drain(deadline time.Duration) (time.Duration, error) {
	d, err := db.Open(e.ctx, e.dbURL)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	start := time.Now()
	for {
		var invoices, mails int
		if err := d.Read.QueryRowContext(e.ctx, `SELECT (SELECT COUNT(*) FROM invoices WHERE number IS NULL),
			(SELECT COUNT(*) FROM outgoing_mail_queue)`).Scan(&invoices, &mails); err != nil {
			return 0, err
		}
		if invoices == 0 && mails == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > deadline {
			return 0, fmt.Errorf("%d invoices without a number and %d emails queued after %s", invoices, mails, deadline)
		}
		select {
		case <-e.ctx.Done():
			return 0, e.ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// claimFiling: POST /api/v1/claims, a pool customer's non-delivery claim
// about one of their delivered order lines, in turn: the policy engine
// decides it at once (refused: everything was delivered), the claim, its
// decision, the audit line and the email are written in one transaction.
func claimFiling() scenario {
	const name = "file a claim"
	return scenario{
		Name: name, Baseline: baseDBInsert,
		Run: func(e *env, lim limits) (Sample, error) {
			var lines []benchdata.PoolLine
			for _, l := range e.set.PoolLines {
				if l.Delivered {
					lines = append(lines, l)
				}
			}
			if len(lines) == 0 {
				return Sample{}, fmt.Errorf("no delivered order line among the pool's orders")
			}
			pool := e.set.Pool
			return runHTTP(e.ctx, "claim", func(seq uint64, t *vegeta.Target) {
				l := lines[seq%uint64(len(lines))]
				t.Method, t.URL = http.MethodPost, e.base+"/api/v1/claims"
				t.Body = []byte(`{"kind":"non_delivery","order_id":"` + l.OrderID + `","line_id":"` + l.LineID +
					`","message":"Nothing arrived (comptoir-bench request ` + strconv.FormatUint(seq, 10) + `)."}`)
				t.Header = http.Header{
					"Authorization": {"Bearer " + pool[l.Pool].Token},
					"Content-Type":  {"application/json"},
				}
			}, status(http.StatusCreated), true, lim), nil
		},
	}
}

// contactForm: POST /contact as an anonymous visitor's browser sends it
// (multipart, same-origin: the form's CSRF protection is the browser's
// Origin and Sec-Fetch-Site headers, so no page has to be fetched first),
// each from its own address: the harness is the server's trusted reverse
// proxy (benchTrustedProxy) and names the visitor in X-Forwarded-For, as
// the form allows ten messages an hour per client. The rate-limit count,
// the ticket, its first message and event, and the acknowledgement email
// are written; the page answers 200 with the ticket's reference, checked
// in the database afterwards.
func contactForm() scenario {
	const name = "contact form"
	return scenario{
		Name: name, Baseline: baseDBInsert, Verify: verifyTickets(name),
		Run: func(e *env, lim limits) (Sample, error) {
			ok := func(res *vegeta.Result) bool {
				from := contactSentBy(res.Code, res.Headers, res.URL)
				if from == "" {
					return false
				}
				e.ack(name, from)
				return true
			}
			return runHTTP(e.ctx, "contact", func(seq uint64, t *vegeta.Target) {
				t.Method = http.MethodPost
				t.URL = e.base + "/contact?" + contactVisitorParam + "=" + strconv.FormatUint(seq, 10)
				t.Body = contactBody(seq)
				t.Header = contactHeader(e.base, seq)
			}, ok, true, lim), nil
		},
	}
}

// policyFacts is a claim's facts as API.md shows them: a service partly
// delivered, a non-delivery claim with evidence.
const policyFacts = `{
  "kind": "non_delivery",
  "filed_at": "2026-03-08T10:00:00Z",
  "customer": {"type": "consumer", "country": "FR"},
  "order": {
    "placed_at": "2026-03-05T10:00:00Z", "paid_at": "2026-03-05T10:01:00Z", "paid": {"amount": 1000, "currency": "EUR"},
    "product_kind": "service", "quantity": 1000, "delivered": 400, "refunded": {"amount": 0, "currency": "EUR"},
    "processing_until": "2026-03-07T10:00:00Z",
    "consent": {"immediate_performance": true, "withdrawal_waiver": true, "at": "2026-03-05T10:00:00Z"}
  },
  "evidence": [{"kind": "text", "at": "2026-03-08T10:00:00Z"}]
}`

// policyEval: policy.Evaluate on the default policy, as a library call in
// the harness's own process.
func policyEval() scenario {
	return scenario{
		Name: "policy eval (library)", Once: true,
		Run: func(e *env, lim limits) (Sample, error) {
			p := policy.Default()
			facts, err := policy.DecodeFacts([]byte(policyFacts))
			if err != nil {
				return Sample{}, err
			}
			at := facts.FiledAt.Add(time.Hour)
			return runLib(e.ctx, func(int) error {
				if d := policy.Evaluate(p, facts, at); d.Rule == "" {
					return fmt.Errorf("no rule decided")
				}
				return nil
			}, lim), nil
		},
	}
}

// jsonString finds the first "key":"value" in a JSON body without decoding
// it all (the order's own id comes first in its JSON).
func jsonString(body []byte, key string) string {
	pat := []byte(`"` + key + `":"`)
	i := bytes.Index(body, pat)
	if i < 0 {
		return ""
	}
	rest := body[i+len(pat):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
