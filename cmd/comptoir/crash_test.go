package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	netmail "net/mail"
	"net/smtp"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// crashStore is the data a crash test loads a store with: buyers with
// money, an agent, and claims waiting for the agent's refund decision.
type crashStore struct {
	productID string
	buyers    []string // API tokens
	agent     string   // API token
	claims    []crashClaim
}

type crashClaim struct {
	id, orderID string
	amount      int64
}

// seedCrashStore fills a fresh database, in this process, before any
// store process starts.
func seedCrashStore(t *testing.T, env map[string]string, buyers, refunds int) crashStore {
	t.Helper()
	ctx := context.Background()
	a := openSeedApp(t, env, "Crash Test", true)
	defer a.Close()
	admin := seedAdmin
	p := seedPosts(t, a)
	s := crashStore{productID: p.ID}
	var users []account.User
	for i := range buyers {
		u, tok := seedBuyer(t, a, fmt.Sprintf("b%d@example.fr", i), 1_000_000, "crash")
		s.buyers, users = append(s.buyers, tok), append(users, u)
	}
	agent, err := a.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "agent@shop.test", Role: account.RoleAgent,
		Password: "correct horse battery", Language: "en", Name: "Agent"})
	if err != nil {
		t.Fatal(err)
	}
	if s.agent, _, err = a.Accounts.CreateToken(ctx, agent.ID, "crash"); err != nil {
		t.Fatal(err)
	}
	// Delivered orders claimed as not delivered: the policy sends those to
	// an agent, whose refund decision the load then posts.
	for i := range refunds {
		u := users[i%len(users)]
		o, err := a.Orders.Place(ctx, orders.PlaceInput{
			CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 3}}, Payment: orders.PayBalance,
			ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "fr", IP: "192.0.2.1", UserAgent: "test",
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: 3,
			Source: orders.SourceAgent, Actor: admin}); err != nil {
			t.Fatal(err)
		}
		c, err := a.Claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Message: "Rien reçu.",
			Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Decision.Outcome != policy.OutcomeReview {
			t.Fatalf("claim on a delivered order: %s, want review", c.Decision.Outcome)
		}
		s.claims = append(s.claims, crashClaim{id: c.ID, orderID: o.ID, amount: 300})
	}
	return s
}

// crashLoad is what the store acknowledged across every run.
type crashLoad struct {
	mu       sync.Mutex
	orders   []string
	messages []string
	decided  map[string]bool // claims whose refund decision got an answer
	mailSeq  atomic.Int64
}

// run sends checkouts, inbound mail and refund decisions at the store
// until stop closes.
func (l *crashLoad) run(s crashStore, base, smtpAddr string, stop <-chan struct{}) {
	client := &http.Client{Timeout: 5 * time.Second}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	for _, tok := range s.buyers {
		wg.Go(func() {
			for !stopped() {
				if id, ok := order(client, base, tok, s.productID); ok {
					l.mu.Lock()
					l.orders = append(l.orders, id)
					l.mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		for !stopped() {
			n := l.mailSeq.Add(1)
			msgID := fmt.Sprintf("<crash-%d@example.fr>", n)
			from := fmt.Sprintf("c%d@example.fr", n%7)
			msg := "From: " + from + "\r\nTo: support@shop.test\r\nSubject: Question " + strconv.FormatInt(n, 10) +
				"\r\nMessage-ID: " + msgID + "\r\n\r\nBonjour, une question.\r\n"
			if smtp.SendMail(smtpAddr, nil, from, []string{"support@shop.test"}, []byte(msg)) == nil {
				l.mu.Lock()
				l.messages = append(l.messages, msgID)
				l.mu.Unlock()
			} else {
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	wg.Go(func() {
		for _, c := range s.claims {
			l.mu.Lock()
			done := l.decided[c.id]
			l.mu.Unlock()
			if done {
				continue
			}
			if stopped() {
				return
			}
			body := fmt.Sprintf(`{"outcome":"refund","refund":{"amount":%d,"currency":"EUR"},"note":"crash test"}`, c.amount)
			req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/claims/"+c.id+"/decision", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.agent)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return // the store is gone; the next run tries again
			}
			resp.Body.Close()
			// Spread the decisions over several runs, so kills land
			// among them.
			time.Sleep(60 * time.Millisecond)
			if resp.StatusCode < 500 {
				// 200, or a refusal because an earlier attempt whose
				// answer was lost already decided it.
				l.mu.Lock()
				l.decided[c.id] = true
				l.mu.Unlock()
			}
		}
	})
	wg.Wait()
}

// TestCrashRecovery loads `comptoir serve` with checkouts, refunds and
// inbound mail, kills it with SIGKILL at random moments 20 times, and
// checks after every restart that nothing acknowledged was lost, nothing
// was done twice, and every queued email still goes out.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills store processes")
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("COMPTOIR_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("random seed %d (COMPTOIR_CRASH_SEED=%d repeats this run's kill moments)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	start := time.Now()

	env := storeEnv(t)
	env["COMPTOIR_SUPPORT_ADDRESS"] = "support@shop.test"
	// Jobs a killed process left running are taken over 2 s later.
	env["COMPTOIR_TEST_RESCUE_AFTER"] = "2s"
	s := seedCrashStore(t, env, 4, 20)
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	load := &crashLoad{decided: map[string]bool{}}

	d, err := db.Open(context.Background(), env["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	const kills = 20
	for round := range kills {
		srv := startStoreProcess(t, env, "--smtp-listen", smtpAddr)
		// Everything acknowledged before this start must have survived.
		checkCrashInvariants(t, d, load, s, false)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { load.run(s, srv.base, smtpAddr, stop); close(done) }()
		wait := time.Duration(100+rng.IntN(900)) * time.Millisecond
		time.Sleep(wait) // the random moment of the kill, not a wait for a condition
		srv.kill()
		close(stop)
		<-done
		t.Logf("kill %d after %v: %d orders, %d messages, %d refunds acknowledged so far", round+1, wait, len(load.orders), len(load.messages), len(load.decided))
	}

	// A last start: the jobs the kills interrupted are rescued and every
	// email goes out.
	srv := startStoreProcess(t, env, "--smtp-listen", smtpAddr)
	checkCrashInvariants(t, d, load, s, false)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { load.run(s, srv.base, smtpAddr, stop); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		load.mu.Lock()
		n := len(load.decided)
		load.mu.Unlock()
		if n == len(s.claims) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	<-done
	// The backlog of mail depends on how fast this machine took the load,
	// so the test waits as long as mail keeps going out: a lost job shows
	// as a queue that stops shrinking before it is empty. The batches whose
	// job the last kill left running wait for River's rescuer, which looks
	// every 30 s (its fixed interval) for jobs running longer than the
	// rescue delay: when those hold all the mail left, the queue stands
	// still for that long without anything being lost.
	const stall = 45 * time.Second
	lastQueued, progressAt := -1, time.Now()
	for {
		var queued, failed int
		d.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE status = 'queued'`).Scan(&queued)
		d.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE status = 'failed'`).Scan(&failed)
		if failed > 0 {
			t.Fatalf("%d emails failed for good", failed)
		}
		if queued == 0 {
			break
		}
		if lastQueued < 0 || queued < lastQueued {
			lastQueued, progressAt = queued, time.Now()
		}
		if time.Since(progressAt) > stall {
			t.Fatalf("%d emails still queued and none sent for %v after the last restart: a job was lost\n%s", queued, stall, srv.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.kill()
	checkCrashInvariants(t, d, load, s, true)
	var sent int
	d.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE status = 'sent'`).Scan(&sent)
	t.Logf("%d kills in %v: %d orders, %d inbound messages, %d refunds, %d emails sent", kills, time.Since(start).Round(time.Second),
		len(load.orders), len(load.messages), len(load.decided), sent)
	if len(load.orders) == 0 || len(load.messages) == 0 {
		t.Fatal("the load acknowledged nothing: the test proved nothing")
	}
}

// checkCrashInvariants reads the database the store processes share.
// final also wants every refund decided.
func checkCrashInvariants(t *testing.T, d *db.DB, l *crashLoad, s crashStore, final bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range l.orders {
		var paid bool
		if err := d.Read.QueryRow(`SELECT paid_at IS NOT NULL FROM orders WHERE id = $1`, id).Scan(&paid); err != nil || !paid {
			t.Fatalf("acknowledged order %s: paid %v, %v", id, paid, err)
		}
	}
	for _, m := range l.messages {
		var n int
		d.Read.QueryRow(`SELECT COUNT(*) FROM ticket_messages WHERE message_id = $1`, m).Scan(&n)
		if n != 1 {
			t.Fatalf("acknowledged message %s stored %d times", m, n)
		}
	}
	for _, c := range s.claims {
		var n int
		var sum, refunded int64
		d.Read.QueryRow(`SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM balance_entries WHERE kind = 'refund' AND reason = $1`, "claim "+c.id).Scan(&n, &sum)
		d.Read.QueryRow(`SELECT refunded FROM orders WHERE id = $1`, c.orderID).Scan(&refunded)
		if n > 1 || sum != refunded || sum > c.amount {
			t.Fatalf("claim %s: %d refund entries summing %d, order refunded %d: a refund was doubled or lost", c.id, n, sum, refunded)
		}
		if final && l.decided[c.id] && n != 1 {
			t.Fatalf("claim %s decided but refunded %d times", c.id, n)
		}
	}
	rows, err := d.Read.Query(`SELECT a.customer_id, a.balance, COALESCE(SUM(e.amount), 0) FROM balance_accounts a
		LEFT JOIN balance_entries e ON e.customer_id = a.customer_id AND e.currency = a.currency
		GROUP BY a.customer_id, a.currency, a.balance`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var who string
		var balance, sum int64
		if err := rows.Scan(&who, &balance, &sum); err != nil {
			t.Fatal(err)
		}
		if balance != sum {
			t.Fatalf("customer %s: balance %d, ledger sums to %d", who, balance, sum)
		}
	}
	if err := rows.Err(); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
}

// TestBackupUnderLoadAndRestore takes `comptoir backup` while checkouts
// keep coming, restores it the way the README says into a new store, and
// checks that every order acknowledged before the backup started is there
// and that the restored store serves.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts store processes")
	}
	env := storeEnv(t)
	env["COMPTOIR_SUPPORT_ADDRESS"] = "support@shop.test"
	s := seedCrashStore(t, env, 3, 0)
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startStoreProcess(t, env, "--smtp-listen", smtpAddr)
	load := &crashLoad{decided: map[string]bool{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { load.run(s, srv.base, smtpAddr, stop); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		load.mu.Lock()
		n := len(load.orders)
		load.mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d orders in 30 s: %s", n, srv.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	load.mu.Lock()
	before := append([]string(nil), load.orders...)
	load.mu.Unlock()
	to := fmt.Sprintf("%s/backup", t.TempDir())
	code, _, errOut := runCmd(t, env, "backup", "--to", to)
	load.mu.Lock()
	during := len(load.orders) - len(before)
	load.mu.Unlock()
	close(stop)
	<-done
	if code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	srv.kill()

	restoredEnv := map[string]string{"COMPTOIR_DATABASE_URL": restoreBackup(t, env["COMPTOIR_DATABASE_URL"], to),
		"COMPTOIR_DATA_DIR": t.TempDir(), "COMPTOIR_SUPPORT_ADDRESS": "support@shop.test"}
	d, err := db.Open(context.Background(), restoredEnv["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Engine == db.SQLite {
		var ok string
		if err := d.Read.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Fatalf("integrity_check of the restored database: %q %v", ok, err)
		}
	}
	restored := startStoreProcess(t, restoredEnv)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, id := range before {
		req, _ := http.NewRequest(http.MethodGet, restored.base+"/api/v1/orders/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+s.buyers[0])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Each buyer sees only their own orders; the database says it
		// is there whoever placed it.
		var n int
		d.Read.QueryRow(`SELECT COUNT(*) FROM orders WHERE id = $1 AND paid_at IS NOT NULL`, id).Scan(&n)
		if n != 1 || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound) {
			t.Fatalf("order %s acknowledged before the backup: %d in the restored database, GET %d", id, n, resp.StatusCode)
		}
	}
	if _, ok := order(client, restored.base, s.buyers[1], s.productID); !ok {
		t.Fatalf("checkout on the restored store failed: %s", restored.out.String())
	}
	checkCrashInvariants(t, d, &crashLoad{orders: before, decided: map[string]bool{}}, s, false)
	t.Logf("%d orders acknowledged before the backup all restored; %d more were acknowledged while it ran", len(before), during)
}

// TestTwoNodes runs two `comptoir serve` on one PostgreSQL: a token signed
// in on one works on the other, due renewals are charged once whichever
// node runs them, and when one node is killed mid-load the other finishes
// its jobs, every email going out with the Message-ID it was queued with.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills store processes")
	}
	if os.Getenv("COMPTOIR_TEST_ENGINE") != "postgres" {
		t.Skip("several nodes share one PostgreSQL database; a SQLite store is one process by design")
	}
	ctx := context.Background()
	env := storeEnv(t)
	env["COMPTOIR_SUPPORT_ADDRESS"] = "support@shop.test"
	env["COMPTOIR_TEST_RESCUE_AFTER"] = "2s"
	s := seedCrashStore(t, env, 4, 0)
	subs := seedDueRenewals(t, env, 4)
	waiting := seedWaitingClaims(t, env, 3)

	envB := map[string]string{}
	for k, v := range env {
		envB[k] = v
	}
	envB["COMPTOIR_DATA_DIR"] = t.TempDir()
	smtpA, smtpB := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startStoreProcess(t, env, "--smtp-listen", smtpA, "--sla-warn-before", "1000h")
	b := startStoreProcess(t, envB, "--smtp-listen", smtpB, "--sla-warn-before", "1000h")

	// Signed in on A, recognised on B.
	resp, err := http.Post(a.base+"/api/v1/login", "application/json",
		strings.NewReader(`{"email":"b0@example.fr","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || login.Token == "" {
		t.Fatalf("login on A: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, b.base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("A's sign-in on B: %v %v", resp, err)
	}
	resp.Body.Close()
	// The same for a browser's cookie session: signed in with the form on
	// A, the account page answers on B.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(a.base+"/signin", url.Values{"email": {"b0@example.fr"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "comptoir_session" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("form sign-in on A: %d, session cookie %v", resp.StatusCode, session)
	}
	req, _ = http.NewRequest(http.MethodGet, b.base+"/account", nil)
	req.AddCookie(session)
	if resp, err = noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("A's cookie session on B: %v %v", resp, err)
	}
	resp.Body.Close()

	// Load on both; A dies in the middle of it.
	load := &crashLoad{decided: map[string]bool{}}
	half := func(from, to int) crashStore { c := s; c.buyers = s.buyers[from:to]; return c }
	stopA, stopB := make(chan struct{}), make(chan struct{})
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { load.run(half(0, 2), a.base, smtpA, stopA); close(doneA) }()
	go func() { load.run(half(2, 4), b.base, smtpB, stopB); close(doneB) }()
	testwait.For(t, 30*time.Second, "orders on both nodes", func() bool {
		load.mu.Lock()
		defer load.mu.Unlock()
		return len(load.orders) >= 40
	})
	a.kill()
	close(stopA)
	<-doneA
	load.mu.Lock()
	atKill := len(load.orders)
	load.mu.Unlock()
	testwait.For(t, 30*time.Second, "orders on B after A died", func() bool {
		load.mu.Lock()
		defer load.mu.Unlock()
		return len(load.orders) >= atKill+20
	})
	close(stopB)
	<-doneB

	d, err := db.Open(ctx, env["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	testwait.For(t, 30*time.Second, "every due renewal charged", func() bool {
		var paid int
		d.Read.QueryRow(`SELECT COUNT(*) FROM subscription_periods WHERE status = 'paid'`).Scan(&paid)
		return paid >= 2*len(subs)
	})
	// B takes over what A left running and sends every email.
	testwait.For(t, 60*time.Second, "every email sent by B", func() bool {
		var queued int
		d.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE status <> 'sent'`).Scan(&queued)
		return queued == 0
	})
	for _, id := range subs {
		var periods, starts int
		d.Read.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT period_start) FROM subscription_periods WHERE subscription_id = $1 AND status = 'paid'`, id).Scan(&periods, &starts)
		if periods != 2 || starts != 2 {
			t.Fatalf("subscription %s: %d paid periods for %d period starts, want the first and one renewal", id, periods, starts)
		}
	}
	// Each seeded ticket warned once (the warning row is unique per
	// deadline), its email queued once, whichever node scanned. A scan
	// A's kill interrupted finishes on B only once B leads and rescues it
	// (or scans again), possibly after every email above was sent: wait
	// for it rather than read a count still on its way.
	var warned, warnings, warningMails int
	testwait.For(t, 90*time.Second, "every seeded ticket warned", func() bool {
		d.Read.QueryRow(`SELECT COUNT(DISTINCT ticket_id), COUNT(*) FROM ticket_sla_warnings`).Scan(&warned, &warnings)
		return warned >= len(subs)
	})
	d.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_sla_warning'`).Scan(&warningMails)
	if warnings != warned || warningMails < warned {
		t.Fatalf("SLA warnings: %d tickets warned, %d warning rows, %d emails", warned, warnings, warningMails)
	}
	// The seeded claims waiting for an agent are warned by the claims'
	// scans (claims.breach_scan): once per claim and deadline whichever
	// node scanned, each warning's emails queued with its row.
	var claimsWarned, claimWarnings, claimRecipients, claimMails int
	testwait.For(t, 90*time.Second, "every seeded claim warned", func() bool {
		d.Read.QueryRow(`SELECT COUNT(DISTINCT claim_id), COUNT(*), COALESCE(SUM(recipients), 0) FROM claim_answer_warnings`).
			Scan(&claimsWarned, &claimWarnings, &claimRecipients)
		return claimsWarned >= len(waiting)
	})
	d.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'claim_answer_warning'`).Scan(&claimMails)
	if claimWarnings != claimsWarned || claimRecipients != claimsWarned || claimMails != claimRecipients {
		t.Fatalf("claim warnings: %d claims warned, %d warning rows, %d recipients (one agent), %d emails",
			claimsWarned, claimWarnings, claimRecipients, claimMails)
	}
	b.kill()
	checkCrashInvariants(t, d, load, s, true)

	// Every email written out by either node carries the Message-ID of a
	// queued message; one sent again after A's death is the same message.
	ids := map[string]bool{}
	rows, err := d.Read.Query(`SELECT message_id, status = 'sent' FROM outgoing_mail`)
	if err != nil {
		t.Fatal(err)
	}
	sentIDs := map[string]bool{}
	for rows.Next() {
		var m string
		var sent bool
		rows.Scan(&m, &sent)
		ids[m] = true
		if sent {
			sentIDs[m] = true
		}
	}
	rows.Close()
	files, copies := map[string]int{}, 0
	for _, dir := range []string{env["COMPTOIR_DATA_DIR"], envB["COMPTOIR_DATA_DIR"]} {
		entries, _ := os.ReadDir(mail.SpoolDir(dir))
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".eml") {
				continue
			}
			b, err := os.ReadFile(mail.SpoolDir(dir) + "/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			m, err := netmail.ReadMessage(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			id := m.Header.Get("Message-ID")
			if !ids[id] {
				t.Fatalf("%s was sent with Message-ID %q, not one the outbox queued", e.Name(), id)
			}
			files[id]++
			copies++
		}
	}
	// (A scan may queue more while B is killed; those are not sent yet.)
	if len(files) < len(sentIDs) {
		missing := map[string]int{}
		for id := range sentIDs {
			if files[id] == 0 {
				var kind, status string
				var attempts int
				d.Read.QueryRow(`SELECT kind, status, attempts FROM outgoing_mail WHERE message_id = $1`, id).Scan(&kind, &status, &attempts)
				missing[fmt.Sprintf("%s/%s/%d", kind, status, attempts)]++
			}
		}
		t.Fatalf("%d messages marked sent, %d written out; missing: %v", len(sentIDs), len(files), missing)
	}
	t.Logf("%d orders (%d before A was killed), %d inbound messages, %d renewals, %d tickets warned; %d emails sent, %d sent again by B with the same Message-ID",
		len(load.orders), atKill, len(load.messages), len(subs), warned, len(sentIDs), copies-len(files))
}

// seedDueRenewals opens n tickets, starts balance subscriptions for the first buyers and
// moves their current period 40 days back (the paid period's own record is
// immutable, and the renewal scan reads the subscription), so a renewal is due as soon as a
// node starts.
// seedWaitingClaims files n claims that wait for an agent (dissatisfied,
// on a delivered order of buyer b0…), which no load decides, and returns
// their ids.
func seedWaitingClaims(t *testing.T, env map[string]string, n int) []string {
	t.Helper()
	ctx := context.Background()
	a := openSeedApp(t, env, "Crash Test", false)
	defer a.Close()
	p, err := a.Catalog.GetBySlug(ctx, "posts")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		u, err := a.Accounts.UserByEmail(ctx, fmt.Sprintf("b%d@example.fr", i))
		if err != nil {
			t.Fatal(err)
		}
		o, err := a.Orders.Place(ctx, orders.PlaceInput{
			CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 3}}, Payment: orders.PayBalance,
			ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "fr", IP: "192.0.2.1", UserAgent: "test",
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Message: "Déçu.",
			Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}})
		if err != nil || !c.Waiting() {
			t.Fatalf("waiting claim: %+v %v", c, err)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

func seedDueRenewals(t *testing.T, env map[string]string, n int) []string {
	t.Helper()
	ctx := context.Background()
	a := openSeedApp(t, env, "Crash Test", false)
	defer a.Close()
	plan, err := a.Catalog.Create(ctx, seedAdmin, catalog.ProductInput{
		Slug: "plan", Kind: catalog.KindSubscription, NameFR: "Formule", NameEN: "Plan",
		DescriptionFR: "Chaque mois.", DescriptionEN: "Every month.", UnitPrice: money.MustNew(990, "EUR"),
		PlanInterval: catalog.IntervalMonth,
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		u, err := a.Accounts.UserByEmail(ctx, fmt.Sprintf("b%d@example.fr", i))
		if err != nil {
			t.Fatal(err)
		}
		sub, err := a.Subscriptions.Start(ctx, subscriptions.StartInput{CustomerID: u.ID, PlanID: plan.ID, Payment: subscriptions.PayBalance,
			ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "fr"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	// Tickets whose promised answer time falls inside the nodes' warning
	// window (--sla-warn-before 1000h): the first scan warns them.
	for i := range n {
		if _, err := a.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Guest", Email: fmt.Sprintf("g%d@example.fr", i),
			Topic: "order", Message: "Où en est ma commande ?", Lang: "fr"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`UPDATE subscriptions SET current_period_start = current_period_start - interval '40 days', current_period_end = current_period_end - interval '40 days'`,
	} {
		if _, err := a.DB.Write.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestGracefulShutdown sends SIGTERM while a checkout is in flight (a card
// checkout waits a few seconds for Stripe, here unreachable): the request
// is answered, new connections are refused, the process exits 0 and no job
// is left marked running.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts store processes")
	}
	env := storeEnv(t)
	s := seedCrashStore(t, env, 1, 0)
	srv := startStoreProcess(t, env, "--stripe-secret-key", "sk_test_comptoir", "--stripe-webhook-secret", "whsec_test",
		"--stripe-api-url", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	type answer struct {
		status int
		err    error
	}
	inFlight := make(chan answer, 1)
	go func() {
		body := `{"lines":[{"product_id":"` + s.productID + `","quantity":1}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
		req, _ := http.NewRequest(http.MethodPost, srv.base+"/api/v1/orders", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.buyers[0])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inFlight <- answer{err: err}
			return
		}
		resp.Body.Close()
		inFlight <- answer{status: resp.StatusCode}
	}()
	d, err := db.Open(context.Background(), env["COMPTOIR_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The order is written: the request is now waiting for Stripe.
	testwait.Until(t, "the card order", func() bool {
		var n int
		d.Read.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&n)
		return n == 1
	})
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused while the one in flight is served.
	testwait.Until(t, "the listener closed", func() bool {
		resp, err := http.Get(srv.base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	a := <-inFlight
	if a.err != nil || a.status != http.StatusCreated {
		t.Fatalf("the checkout in flight at SIGTERM: %d %v", a.status, a.err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, srv.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30 s after SIGTERM")
	}
	var running int
	d.Read.QueryRow(`SELECT COUNT(*) FROM river_job WHERE state = 'running'`).Scan(&running)
	if running != 0 {
		t.Fatalf("%d jobs left running after a graceful stop", running)
	}
}

// A second SIGTERM during the graceful stop ends the process at once: with
// a request still coming in (its body half sent), the first one waits for
// it, up to the shutdown delay.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts store processes")
	}
	srv := startStoreProcess(t, storeEnv(t))
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /contact HTTP/1.1\r\nHost: shop\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname=Ana"); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the listener closed", func() bool {
		resp, err := http.Get(srv.base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	exited := make(chan error, 1)
	go func() { exited <- srv.cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("exited (%v) while a request was still coming in, before the second signal", err)
	default:
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after a second SIGTERM:\n%s", srv.out.String())
	}
}
