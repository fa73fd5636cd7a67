package benchdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"

	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/eu"
	"comptoir/internal/orders"
)

// Password is every generated account's password (they share one hash).
const Password = "comptoir-bench-password"

// PolicyVersion is the refund policy version generated orders accepted.
const PolicyVersion = "default@1"

const (
	currency = "EUR"
	// history is how far back generated orders go.
	history = 2 * 365 * 24 * time.Hour
	// ordersPerTx: one transaction per this many orders (about four rows
	// each), large enough that commits cost nothing, small enough that a
	// SQLite WAL stays a reasonable size.
	ordersPerTx = 20_000
	usersPerTx  = 50_000
	// poolBalance is what the customers the load acts as have left to
	// spend: far more than any run can buy (and far under the ledger's
	// bound of 10^15).
	poolBalance = 100_000_000_000
	// otherBalance is what the other customers have left.
	otherBalance = 5_000
)

// Options tune Load.
type Options struct {
	// Now is the end of the generated history (default: time.Now()).
	Now time.Time
	// Seed makes the dataset (default 1).
	Seed uint64
	// Logf reports progress (default: silent).
	Logf func(format string, args ...any)
	// Due, when above zero, makes a store for timing the periodic scans:
	// whatever the scale, exactly Due tickets have a promised reply time
	// that has just passed and is not yet flagged, Due more are due within
	// the warning window, and exactly Due subscriptions are due for
	// renewal at Now (see DueTickets and dueSubscriptions); everything
	// else is history (closed tickets, ended subscriptions) or not due.
	// Zero: the open tickets and live subscriptions follow the scale.
	Due int
}

// Principal is an account the load generator acts as.
type Principal struct {
	ID    string
	Email string
	// Token is a bearer API token; Session a session cookie value. Both in
	// clear: the database holds their SHA-256 only.
	Token   string
	Session string
}

// PoolLine is an order line of a pool customer.
type PoolLine struct {
	Pool      int // index in Dataset.Pool
	OrderID   string
	LineID    string
	Kind      string
	Delivered bool // in full
}

const maxPoolLines = 200_000

// Product is a generated product.
type Product struct {
	ID          string
	Slug        string
	Kind        string
	UnitPrice   int64
	MinQuantity int
	MaxQuantity int
}

// Dataset is what Load made, for the harness to aim its requests.
type Dataset struct {
	Scale    Scale
	Products []Product
	// Pool are the customers with a token and a session, and an almost
	// bottomless balance; they have orders like everyone else.
	Pool   []Principal
	Agents []Principal
	Admin  Principal
	// PoolLines are order lines of the pool's customers, oldest first (at
	// most maxPoolLines), for scenarios about an existing order.
	PoolLines []PoolLine
	// Rows counts the rows written per table.
	Rows map[string]int64
	// Skipped says what the scale asked for that could not be made yet,
	// and why.
	Skipped []string
	// Took is how long the load took, ANALYZE included.
	Took time.Duration
	// Now is the end of the generated history (Options.Now).
	Now time.Time
	// Plans are the subscription plans (products of kind subscription),
	// kept apart from Products so that the storefront and checkout
	// scenarios keep their catalog.
	Plans []Product
	// Due is Options.Due.
	Due int
}

// RowsTotal is the number of rows written.
func (d *Dataset) RowsTotal() int64 {
	var n int64
	for _, v := range d.Rows {
		n += v
	}
	return n
}

// ServiceProducts are the products a checkout can buy in any quantity.
func (d *Dataset) ServiceProducts() []Product {
	var out []Product
	for _, p := range d.Products {
		if p.Kind == catalog.KindService {
			out = append(out, p)
		}
	}
	return out
}

// customer is what the order generator needs to know of a customer.
type customer struct {
	id       string
	lang     string
	consumer bool
	country  string
	created  time.Time
}

type loader struct {
	ctx   context.Context
	d     *db.DB
	sc    Scale
	now   time.Time
	seed  uint64
	ids   *idGen
	logf  func(string, ...any)
	hash  string
	set   *Dataset
	custs []customer
	// replica: on PostgreSQL as a superuser, foreign keys are checked once
	// over whole tables after the load (checkReferences) rather than row
	// by row by their triggers, as pg_restore --disable-triggers does:
	// three times faster, and as strict.
	replica bool
	prods   []genProduct
	due     int
	plans   []genProduct
	// subs are the subscriptions drawn before the ledger is written (their
	// periods are paid from the balance); running is each customer's
	// balance as the entries are written.
	subs    []genSub
	running []int64
}

type genProduct struct {
	Product
	nameFR, nameEN string
	processing     time.Duration
	interval       string // plans only
}

// Load fills d, which must be migrated and hold no users yet, with a store
// of scale sc, and analyzes it as an operator would after a restore.
func Load(ctx context.Context, d *db.DB, sc Scale, opts Options) (*Dataset, error) {
	start := time.Now()
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	var users int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
		return nil, fmt.Errorf("benchdata: is the database migrated? %w", err)
	}
	if users > 0 {
		return nil, errors.New("benchdata: the database already has users; load into a fresh one")
	}
	hash, err := argon2id.CreateHash(Password, argon2id.DefaultParams)
	if err != nil {
		return nil, err
	}
	l := &loader{
		ctx: ctx, d: d, sc: sc, now: opts.Now.UTC().Truncate(time.Microsecond), seed: opts.Seed,
		ids: newIDGen(opts.Seed), logf: opts.Logf, hash: hash,
		set: &Dataset{Scale: sc, Rows: map[string]int64{}}, due: opts.Due,
	}
	l.set.Now, l.set.Due = l.now, opts.Due
	if d.Engine == db.SQLite {
		// A large page cache for the load's connection: index pages of
		// large tables stay in memory instead of being read back from the
		// file at every batch. (Only this connection; the server sets its
		// own.)
		if _, err := d.Write.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
			return nil, err
		}
	}
	if d.Engine == db.Postgres {
		var super bool
		if err := d.Read.QueryRowContext(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err == nil {
			l.replica = super
		}
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"products", l.products},
		{"customers and staff", l.people},
		{"subscription plans", l.planSubscriptions},
		{"orders and balances", l.orders},
		{"subscriptions", l.subscriptions},
		{"ledger check", l.checkLedger},
		{"ticket messages", l.messages},
		{"references", l.checkReferences},
		{"analyze", l.analyze},
	}
	for _, s := range steps {
		t := time.Now()
		if err := s.fn(); err != nil {
			return nil, fmt.Errorf("benchdata: %s: %w", s.name, err)
		}
		l.logf("benchdata: %s done in %s", s.name, time.Since(t).Round(time.Millisecond))
	}
	l.set.Took = time.Since(start)
	return l.set, nil
}

// tx runs fn in one transaction on the write pool (not db.Tx: nothing else
// writes during a load, and a load's transactions are far larger than a
// group commit's).
func (l *loader) tx(fn func(tx *sql.Tx) error) error {
	tx, err := l.d.Write.BeginTx(l.ctx, nil)
	if err != nil {
		return err
	}
	if l.replica {
		if _, err := tx.ExecContext(l.ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// closeAll flushes the bulks and counts their rows.
func (l *loader) closeAll(bs ...*bulk) error {
	for _, b := range bs {
		if err := b.close(); err != nil {
			return err
		}
		l.set.Rows[b.table] += b.total
	}
	return nil
}

const descriptionEN = "We do the work for you, carefully and on time: a specialist takes your brief, asks what is missing, " +
	"and delivers as the work gets done so that you can follow it from your account.\n\n" +
	"Choose the quantity you need. Every unit is delivered within the stated processing time, and what is not " +
	"delivered by then is refunded under our refund policy. Questions before ordering? Write to us: a person answers " +
	"within one working day."

const descriptionFR = "Nous faisons le travail pour vous, avec soin et dans les délais\u00a0: une personne spécialisée reprend " +
	"votre demande, vous pose les questions utiles et livre au fur et à mesure, pour que vous suiviez tout depuis votre compte.\n\n" +
	"Choisissez la quantité qu’il vous faut. Chaque unité est livrée dans le délai annoncé, et ce qui ne l’est pas est " +
	"remboursé selon notre politique de remboursement. Une question avant de commander\u00a0? Écrivez-nous\u00a0: une " +
	"personne vous répond sous un jour ouvré."

// products writes the catalog: mostly services sold by the unit, one in
// five a downloadable file. Each has one revision.
func (l *loader) products() error {
	created := l.now.Add(-history - 30*24*time.Hour)
	return l.tx(func(tx *sql.Tx) error {
		ps := l.bulk(tx, "products", "id", "slug", "kind", "current_revision", "created_at", "updated_at")
		rs := l.bulk(tx, "product_revisions", "product_id", "revision", "kind", "name_fr", "name_en",
			"description_fr", "description_en", "currency", "unit_price", "min_quantity", "max_quantity",
			"processing_seconds", "digital_delivery", "file_key", "download_ttl_seconds", "created_at").dependsOn(ps)
		plans := l.bulk(tx, "product_revisions", "product_id", "revision", "kind", "name_fr", "name_en",
			"description_fr", "description_en", "currency", "unit_price", "min_quantity", "max_quantity",
			"processing_seconds", "plan_interval", "trial_days", "created_at").dependsOn(ps)
		r := rand.New(rand.NewPCG(l.seed, 1))
		for i := range l.sc.Products {
			at := created.Add(time.Duration(i) * time.Minute)
			p := genProduct{Product: Product{ID: l.ids.at("prd", at), UnitPrice: int64(100 + r.IntN(50)*50)}}
			var delivery, fileKey, ttl any
			processing := int64(0)
			if i%5 == 4 {
				p.Kind, p.Slug = catalog.KindDigital, fmt.Sprintf("bench-guide-%04d", i)
				p.MinQuantity, p.MaxQuantity = 1, 1
				p.nameFR, p.nameEN = fmt.Sprintf("Guide PDF n°\u00a0%d", i), fmt.Sprintf("PDF guide #%d", i)
				delivery, fileKey, ttl = catalog.DeliveryFile, fmt.Sprintf("bench/guide-%04d.pdf", i), int64(48*3600)
			} else {
				p.Kind, p.Slug = catalog.KindService, fmt.Sprintf("bench-service-%04d", i)
				p.MinQuantity, p.MaxQuantity = 1, 10_000
				p.nameFR, p.nameEN = fmt.Sprintf("Service sur mesure n°\u00a0%d", i), fmt.Sprintf("Tailored service #%d", i)
				p.processing = time.Duration(1+i%4) * 24 * time.Hour
				processing = int64(p.processing / time.Second)
			}
			if err := ps.add(p.ID, p.Slug, p.Kind, 1, at, at); err != nil {
				return err
			}
			// The products' deferred foreign key to their current revision
			// is checked at commit, once both rows exist.
			if err := rs.add(p.ID, 1, p.Kind, p.nameFR, p.nameEN, descriptionFR, descriptionEN, currency, p.UnitPrice,
				p.MinQuantity, p.MaxQuantity, processing, delivery, fileKey, ttl, at); err != nil {
				return err
			}
			l.prods = append(l.prods, p)
			l.set.Products = append(l.set.Products, p.Product)
		}
		if l.sc.Subscriptions > 0 {
			for i, pl := range planKinds {
				at := created.Add(time.Duration(l.sc.Products+i) * time.Minute)
				p := genProduct{Product: Product{ID: l.ids.at("prd", at), Kind: catalog.KindSubscription,
					Slug: "bench-plan-" + pl.slug, UnitPrice: pl.price, MinQuantity: 1, MaxQuantity: 1},
					nameFR: pl.nameFR, nameEN: pl.nameEN, interval: pl.interval}
				if err := ps.add(p.ID, p.Slug, p.Kind, 1, at, at); err != nil {
					return err
				}
				if err := plans.add(p.ID, 1, p.Kind, p.nameFR, p.nameEN, descriptionFR, descriptionEN, currency, p.UnitPrice,
					1, 1, 0, p.interval, 0, at); err != nil {
					return err
				}
				l.plans = append(l.plans, p)
				l.set.Plans = append(l.set.Plans, p.Product)
			}
		}
		return l.closeAll(ps, rs, plans)
	})
}

var countries = []string{"FR", "FR", "FR", "FR", "FR", "FR", "FR", "FR", "BE", "DE", "CH"}

// people writes the customers, the agents and an admin, and the tokens and
// sessions of the accounts the load acts as.
func (l *loader) people() error {
	r := rand.New(rand.NewPCG(l.seed, 2))
	first := l.now.Add(-history - 60*24*time.Hour)
	l.custs = make([]customer, l.sc.Customers)
	for i := range l.custs {
		c := customer{lang: "fr", consumer: true, country: countries[r.IntN(len(countries))]}
		if i%3 == 2 {
			c.lang = "en"
		}
		if i%20 == 19 {
			c.consumer = false
		}
		// Customers arrive over the two months before the history starts,
		// in id order.
		c.created = first.Add(time.Duration(i) * (60 * 24 * time.Hour) / time.Duration(l.sc.Customers))
		c.id = l.ids.at("usr", c.created)
		l.custs[i] = c
	}
	for lo := 0; lo < len(l.custs); lo += usersPerTx {
		hi := min(lo+usersPerTx, len(l.custs))
		err := l.tx(func(tx *sql.Tx) error {
			us := l.usersBulk(tx)
			for i := lo; i < hi; i++ {
				c := l.custs[i]
				email := fmt.Sprintf("customer%07d@bench.invalid", i)
				ctype, vat := "consumer", any(nil)
				if !c.consumer {
					ctype, vat = "business", fmt.Sprintf("FR%011d", i)
				}
				if err := us.add(c.id, email, email, fmt.Sprintf("Customer %d", i), "customer", l.hash, c.lang,
					ctype, vat, c.country, "", "", c.created, c.created); err != nil {
					return err
				}
			}
			return l.closeAll(us)
		})
		if err != nil {
			return err
		}
	}
	return l.tx(func(tx *sql.Tx) error {
		us := l.usersBulk(tx)
		staff := func(role string, i int) (Principal, error) {
			at := first.Add(time.Duration(i) * time.Second)
			p := Principal{ID: l.ids.at("usr", at), Email: fmt.Sprintf("%s%03d@bench.invalid", role, i)}
			return p, us.add(p.ID, p.Email, p.Email, fmt.Sprintf("%s %d", role, i), role, l.hash, "fr",
				"consumer", nil, "", "", "", at, at)
		}
		for i := range l.sc.Agents {
			p, err := staff("agent", i)
			if err != nil {
				return err
			}
			l.set.Agents = append(l.set.Agents, p)
		}
		admin, err := staff("admin", 0)
		if err != nil {
			return err
		}
		l.set.Admin = admin
		if err := l.closeAll(us); err != nil {
			return err
		}
		// Tokens and sessions were used a moment ago, as those of people
		// in the middle of shopping.
		ts := l.bulk(tx, "api_tokens", "id", "user_id", "name", "token_hash", "created_at", "last_used_at")
		ss := l.bulk(tx, "sessions", "id", "user_id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent")
		grant := func(p *Principal, i int) error {
			p.Token = "cpt_" + secret(l.seed, "token", i)
			p.Session = secret(l.seed, "session", i)
			if err := ts.add(l.ids.at("tok", l.now), p.ID, "bench", hashSecret(p.Token), l.now, l.now); err != nil {
				return err
			}
			return ss.add(hashSecret(p.Session), p.ID, l.now, l.now, l.now.Add(30*24*time.Hour), "127.0.0.1", "comptoir-bench")
		}
		n := 0
		for i := range l.sc.Pool {
			p := Principal{ID: l.custs[i].id, Email: fmt.Sprintf("customer%07d@bench.invalid", i)}
			if err := grant(&p, n); err != nil {
				return err
			}
			n++
			l.set.Pool = append(l.set.Pool, p)
		}
		for i := range l.set.Agents {
			if err := grant(&l.set.Agents[i], n); err != nil {
				return err
			}
			n++
		}
		if err := grant(&l.set.Admin, n); err != nil {
			return err
		}
		return l.closeAll(ts, ss)
	})
}

func (l *loader) usersBulk(tx *sql.Tx) *bulk {
	return l.bulk(tx, "users", "id", "email", "email_key", "name", "role", "password_hash", "language",
		"customer_type", "vat_number", "country", "region", "city", "created_at", "updated_at")
}

// genLine is one line of a generated order.
type genLine struct {
	prod *genProduct
	qty  int
}

// genOrder draws order i: who, what, how many. It depends only on the seed
// and i, so the two passes over the orders (totals, then rows) agree.
func (l *loader) genOrder(i int, lines []genLine) (cust int, out []genLine) {
	r := rand.New(rand.NewPCG(l.seed^0x6f72646572, uint64(i)))
	cust = r.IntN(len(l.custs))
	n := 1
	if r.IntN(4) == 0 && len(l.prods) > 1 {
		n = 2
	}
	first := r.IntN(len(l.prods))
	for k := range n {
		p := &l.prods[(first+k)%len(l.prods)]
		qty := 1
		if p.Kind == catalog.KindService {
			qty = 1 + r.IntN(20)
		}
		lines = append(lines, genLine{prod: p, qty: qty})
	}
	return cust, lines
}

// placedAt spreads the orders evenly over the history, oldest first.
func (l *loader) placedAt(i int) time.Time {
	start := l.now.Add(-history)
	return start.Add(time.Duration(float64(history) * float64(i) / float64(max(l.sc.Orders, 1)))).Truncate(time.Microsecond)
}

// orders writes the orders with their lines and consent records, and the
// balance ledger that paid for them: each customer was credited once (an
// admin credit when they arrived) with what they would spend plus what they
// have left, then debited once per order, so every balance_after is right
// and every account's balance equals the sum of its entries.
func (l *loader) orders() error {
	// First pass: what each customer spends.
	spent := make([]int64, len(l.custs))
	var lines []genLine
	for i := range l.sc.Orders {
		var c int
		c, lines = l.genOrder(i, lines[:0])
		for _, ln := range lines {
			spent[c] += ln.prod.UnitPrice * int64(ln.qty)
		}
	}
	for _, sb := range l.subs {
		spent[sb.cust] += sb.spent()
	}
	l.running = make([]int64, len(l.custs))
	running := l.running
	for lo := 0; lo < len(l.custs); lo += usersPerTx {
		hi := min(lo+usersPerTx, len(l.custs))
		err := l.tx(func(tx *sql.Tx) error {
			as := l.bulk(tx, "balance_accounts", "customer_id", "currency", "balance", "updated_at")
			es := l.entriesBulk(tx).dependsOn(as)
			for i := lo; i < hi; i++ {
				c := l.custs[i]
				left := int64(otherBalance)
				if i < l.sc.Pool {
					left = poolBalance
				}
				credit := spent[i] + left
				running[i] = credit
				at := c.created.Add(time.Minute)
				if err := as.add(c.id, currency, left, l.now); err != nil {
					return err
				}
				if err := es.add(l.ids.at("ble", at), c.id, currency, credit, credit, "admin_credit", "", "",
					"opening balance (generated)", l.set.Admin.ID, at); err != nil {
					return err
				}
			}
			return l.closeAll(as, es)
		})
		if err != nil {
			return err
		}
	}

	started := time.Now()
	for lo := 0; lo < l.sc.Orders; lo += ordersPerTx {
		hi := min(lo+ordersPerTx, l.sc.Orders)
		err := l.tx(func(tx *sql.Tx) error {
			ob := l.bulk(tx, "orders", "id", "customer_id", "status", "currency", "total", "paid", "refunded",
				"payment_method", "policy_version", "lang", "placed_at", "paid_at", "updated_at")
			ls := l.bulk(tx, "order_lines", "id", "order_id", "position", "product_id", "product_revision", "kind",
				"name", "unit_price", "quantity", "delivered", "amount", "refunded", "processing_until").dependsOn(ob)
			cs := l.bulk(tx, "order_consents", "order_id", "required", "immediate_performance", "withdrawal_waiver",
				"wording_version", "lang", "immediate_text", "waiver_text", "policy_version", "at", "ip", "user_agent").dependsOn(ob)
			es := l.entriesBulk(tx)
			var kinds []string
			var rows []lineRow
			for i := lo; i < hi; i++ {
				var ci int
				ci, lines = l.genOrder(i, lines[:0])
				c := l.custs[ci]
				at := l.placedAt(i)
				if !at.After(c.created) {
					at = c.created.Add(2 * time.Minute)
				}
				orderID := l.ids.at("ord", at)
				var total int64
				ordered, delivered := 0, 0
				kinds = kinds[:0]
				rows = rows[:0]
				for k, ln := range lines {
					rw := lineRow{id: l.ids.at("oln", at), qty: ln.qty, amount: ln.prod.UnitPrice * int64(ln.qty), prod: ln.prod, position: k + 1}
					rw.name = ln.prod.nameFR
					if c.lang == "en" {
						rw.name = ln.prod.nameEN
					}
					rw.delivered = ln.qty
					if ln.prod.Kind == catalog.KindService {
						until := at.Add(ln.prod.processing)
						rw.until = until
						// Work still within its processing time is
						// under way: nothing or half of it delivered.
						if until.After(l.now) {
							rw.delivered = (ln.qty / 2) * (i % 2)
						}
					}
					total += rw.amount
					ordered += rw.qty
					delivered += rw.delivered
					kinds = append(kinds, ln.prod.Kind)
					rows = append(rows, rw)
					if ci < l.sc.Pool && len(l.set.PoolLines) < maxPoolLines {
						l.set.PoolLines = append(l.set.PoolLines, PoolLine{Pool: ci, OrderID: orderID, LineID: rw.id,
							Kind: ln.prod.Kind, Delivered: rw.delivered == rw.qty})
					}
				}
				status := orders.StatusCompleted
				switch {
				case delivered == 0:
					status = orders.StatusProcessing
				case delivered < ordered:
					status = orders.StatusPartial
				}
				if err := ob.add(orderID, c.id, status, currency, total, total, 0, "balance", PolicyVersion, c.lang, at, at, at); err != nil {
					return err
				}
				for _, rw := range rows {
					if err := ls.add(rw.id, orderID, rw.position, rw.prod.ID, 1, rw.prod.Kind, rw.name, rw.prod.UnitPrice,
						rw.qty, rw.delivered, rw.amount, 0, rw.until); err != nil {
						return err
					}
				}
				wording := orders.ConsentWording(kinds, c.lang)
				required := c.consumer && eu.ConsumerLawApplies(c.country)
				if err := cs.add(orderID, required, true, true, orders.ConsentWordingVersion, c.lang, wording.Immediate,
					wording.Waiver, PolicyVersion, at, "192.0.2.1", "Mozilla/5.0 (comptoir-bench)"); err != nil {
					return err
				}
				running[ci] -= total
				if err := es.add(l.ids.at("ble", at), c.id, currency, -total, running[ci], "purchase", "order", orderID,
					"", c.id, at); err != nil {
					return err
				}
			}
			return l.closeAll(ob, ls, cs, es)
		})
		if err != nil {
			return err
		}
		if el := time.Since(started).Seconds(); el > 0 {
			l.logf("benchdata: orders %d/%d (%.0f orders/s)", hi, l.sc.Orders, float64(hi)/el)
		}
	}
	return nil
}

// checkLedger proves that what was debited (orders, then subscription
// periods) is what each opening credit planned for.
func (l *loader) checkLedger() error {
	for i, left := range l.running {
		want := int64(otherBalance)
		if i < l.sc.Pool {
			want = poolBalance
		}
		if left != want {
			return fmt.Errorf("ledger does not add up for customer %d: %d left, want %d", i, left, want)
		}
	}
	return nil
}

// lineRow is an order line about to be written.
type lineRow struct {
	id             string
	qty, delivered int
	amount         int64
	until          any
	prod           *genProduct
	name           string
	position       int
}

func (l *loader) bulk(tx *sql.Tx, table string, cols ...string) *bulk {
	return newBulk(l.ctx, tx, l.d.Engine == db.SQLite, table, cols...)
}

func (l *loader) entriesBulk(tx *sql.Tx) *bulk {
	return l.bulk(tx, "balance_entries", "id", "customer_id", "currency", "amount", "balance_after", "kind",
		"reference_type", "reference_id", "reason", "actor_id", "created_at")
}

// ticketsPerTx bounds one transaction of the desk's load.
const ticketsPerTx = 2_500

// messagesPerTicket: a question, an answer, a follow-up, an answer.
const messagesPerTicket = 4

// messages writes the support desk: Scale.Messages messages in tickets of
// four (in, out, in, out), spread over the history. Tickets of the past are
// closed; of the most recent 2 % (those of the last fortnight), one in two
// is open with a promised reply time around now (some already late) and the
// others wait for the customer. Half the tickets, closed or not, are
// assigned to an agent. The agents' queue reads the tickets not closed,
// nearest promise first.
func (l *loader) messages() error {
	if l.sc.Messages == 0 {
		return nil
	}
	exists, err := tableExists(l.ctx, l.d, "ticket_messages")
	if err != nil {
		return err
	}
	if !exists {
		l.set.Skipped = append(l.set.Skipped, fmt.Sprintf("%d ticket messages: the support desk has no tables yet", l.sc.Messages))
		return nil
	}
	if len(l.custs) == 0 {
		return errors.New("tickets need customers")
	}
	topics := []string{"question", "order", "billing", "technical", "other", "email"}
	nTickets := (l.sc.Messages + messagesPerTicket - 1) / messagesPerTicket
	if l.due > 0 && nTickets < 4*l.due {
		return fmt.Errorf("%d messages make %d tickets, too few for %d due tickets of each kind (4 kinds)", l.sc.Messages, nTickets, l.due)
	}
	written := 0
	for lo := 0; lo < nTickets; lo += ticketsPerTx {
		hi := min(lo+ticketsPerTx, nTickets)
		err := l.tx(func(tx *sql.Tx) error {
			ts := l.bulk(tx, "tickets", "id", "reference", "reply_token", "customer_id", "customer_email", "customer_name",
				"lang", "topic", "status", "assignee_id", "first_message_at", "target_at", "promise_at", "breached",
				"created_at", "updated_at")
			ms := l.bulk(tx, "ticket_messages", "id", "ticket_id", "direction", "author_id", "from_email", "message_id",
				"subject", "body_text", "created_at").dependsOn(ts)
			for i := lo; i < hi; i++ {
				ci := (i * 7919) % len(l.custs)
				c := l.custs[ci]
				email := fmt.Sprintf("customer%07d@bench.invalid", ci)
				at := l.now.Add(-history + time.Duration(i)*(history/time.Duration(nTickets)))
				if !at.After(c.created) {
					at = c.created.Add(time.Hour)
				}
				n := min(messagesPerTicket, l.sc.Messages-written)
				last := at.Add(time.Duration(n-1) * time.Hour)
				status, target, promise, breached := "closed", any(nil), any(nil), false
				var assignee any
				recent := i >= nTickets-max(nTickets/50, 2)
				due := -1
				if l.due > 0 {
					// The scans' store: only the last 4×Due tickets are
					// not closed, whatever the history.
					recent = false
					if k := nTickets - 1 - i; k < 4*l.due {
						due = k
					}
				}
				switch {
				case due >= 0 && due%4 < 3:
					// 0: promised a moment ago and not flagged yet (the
					// breach scan's work); 1: promised within the warning
					// window (the warning scan's); 2: promised later.
					status = "open"
					p := l.now.Add(-time.Duration(due/4+1) * time.Minute)
					switch due % 4 {
					case 1:
						p = l.now.Add(time.Hour + time.Duration(due/4)*time.Minute)
					case 2:
						p = l.now.Add(12*time.Hour + time.Duration(due/4)*time.Minute)
					}
					target, promise = p.Add(-24*time.Hour), p
					last = p.Add(-48 * time.Hour)
					if !last.After(at) {
						at = last.Add(-time.Duration(n) * time.Hour)
					}
				case due >= 0:
					status = "waiting_customer"
				case recent && i%2 == 0:
					// Waiting for an answer, due within a day either side
					// of now: the queue's head.
					status = "open"
					p := l.now.Add(time.Duration(i%48-24) * time.Hour)
					target, promise, breached = p.Add(-4*time.Hour), p, p.Before(l.now)
					last = l.now.Add(-time.Duration(i%47) * time.Hour)
					if !last.After(at) {
						at = last.Add(-time.Duration(n) * time.Hour)
					}
				case recent:
					status = "waiting_customer"
				}
				if i%2 == 0 && len(l.set.Agents) > 0 {
					assignee = l.set.Agents[i%len(l.set.Agents)].ID
				}
				id := l.ids.at("tkt", at)
				subject := fmt.Sprintf("Question %d about my order", i)
				if err := ts.add(id, fmt.Sprintf("T-%08X", i), secret(l.seed, "reply", i)[:32], c.id, email,
					fmt.Sprintf("Customer %d", ci), c.lang, topics[i%len(topics)], status, assignee, at, target, promise,
					breached, at, last); err != nil {
					return err
				}
				step := time.Duration(0)
				if n > 1 {
					step = last.Sub(at) / time.Duration(n-1)
				}
				for k := range n {
					mat := at.Add(time.Duration(k) * step)
					dir, author, from := "in", any(nil), email
					if k%2 == 1 {
						dir, from = "out", ""
						if len(l.set.Agents) > 0 {
							author = l.set.Agents[(i+k)%len(l.set.Agents)].ID
						}
					}
					if err := ms.add(l.ids.at("tms", mat), id, dir, author, from,
						fmt.Sprintf("<bench-%d-%d@bench.invalid>", i, k), subject,
						"Hello, I have a question about my order. Could you tell me when the work will be delivered? Thank you.",
						mat); err != nil {
						return err
					}
				}
				written += n
			}
			return l.closeAll(ts, ms)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// references are the foreign keys the load writes, as (child, its
// columns, parent, its columns).
var references = [][4]string{
	{"product_revisions", "product_id, kind", "products", "id, kind"},
	{"products", "id, current_revision", "product_revisions", "product_id, revision"},
	{"api_tokens", "user_id", "users", "id"},
	{"sessions", "user_id", "users", "id"},
	{"orders", "customer_id", "users", "id"},
	{"order_lines", "order_id", "orders", "id"},
	{"order_lines", "product_id, product_revision", "product_revisions", "product_id, revision"},
	{"order_consents", "order_id", "orders", "id"},
	{"balance_entries", "customer_id, currency", "balance_accounts", "customer_id, currency"},
	{"tickets", "customer_id", "users", "id"},
	{"ticket_messages", "ticket_id", "tickets", "id"},
	{"subscriptions", "customer_id", "users", "id"},
	{"subscriptions", "product_id, product_revision", "product_revisions", "product_id, revision"},
	{"subscription_periods", "subscription_id", "subscriptions", "id"},
}

// checkReferences proves, when the load skipped the row-by-row foreign key
// triggers, that every reference it wrote points at a row: one anti-join
// per foreign key.
func (l *loader) checkReferences() error {
	if !l.replica {
		return nil
	}
	for _, r := range references {
		var on []string
		cc, pc := strings.Split(r[1], ", "), strings.Split(r[3], ", ")
		for i := range cc {
			on = append(on, "p."+pc[i]+" = c."+cc[i])
		}
		var n int64
		q := `SELECT COUNT(*) FROM ` + r[0] + ` c WHERE NOT EXISTS (SELECT 1 FROM ` + r[2] + ` p WHERE ` + strings.Join(on, " AND ") + `)`
		if err := l.d.Read.QueryRowContext(l.ctx, q).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d rows of %s (%s) point at no %s", n, r[0], r[1], r[2])
		}
	}
	return nil
}

// filledTables names the PostgreSQL tables of the store that hold rows.
func (l *loader) filledTables() ([]string, error) {
	tables, err := db.Strings(l.ctx, l.d.Read, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		return nil, err
	}
	var filled []string
	for _, t := range tables {
		var has bool
		if err := l.d.Read.QueryRowContext(l.ctx, `SELECT EXISTS (SELECT 1 FROM `+t+`)`).Scan(&has); err != nil {
			return nil, err
		}
		if has {
			filled = append(filled, t)
		}
	}
	return filled, nil
}

func tableExists(ctx context.Context, d *db.DB, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if d.Engine == db.Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	err := d.Read.QueryRowContext(ctx, q, name).Scan(&n)
	return n > 0, err
}

// analyze gathers the planner's statistics, as after a restore, and on
// SQLite empties the write-ahead log into the database file so that the
// server starts on a clean file.
//
// On SQLite it keeps the per-index row counts (sqlite_stat1) but not the
// sampled key values (sqlite_stat4): the driver's SQLite is built with
// STAT4, and with samples present SQLite prepares again, on every run, each
// statement whose parameter is compared with a sampled index column (it
// re-plans for the bound value): such a statement is parsed and planned on
// every run, kept prepared or not, and more than a tenth of a product
// page's CPU went to that. comptoir's
// queries are lookups by key and pages of an index, planned as well from the
// row counts; comptoir never runs ANALYZE itself, and an sqlite3 shell
// without STAT4 writes no samples either.
//
// On PostgreSQL it also vacuums: after so many inserts autovacuum would
// otherwise make its own pass over the loaded tables (PostgreSQL 13 and
// later vacuum on inserts) while the first scenarios are measured. It
// touches only the tables the dataset filled. The others (invoices,
// idempotency keys, outgoing mail: a real store of this size has many
// rows in them, the dataset none) would be recorded as empty, and the
// planner believes that until autovacuum's next pass, a minute away: the
// generic plans the server's prepared statements settle on after five runs
// then scan those tables whole, the invoice lines' foreign key check among
// them, each scan longer as the scenario fills the table. Left never
// analyzed, as in a new store, they are planned as tables of some size.
func (l *loader) analyze() error {
	stmt := `ANALYZE`
	if l.d.Engine == db.Postgres {
		filled, err := l.filledTables()
		if err != nil {
			return err
		}
		stmt = `VACUUM (ANALYZE) ` + strings.Join(filled, ", ")
	}
	if _, err := l.d.Write.ExecContext(l.ctx, stmt); err != nil {
		return err
	}
	if l.d.Engine == db.SQLite {
		if ok, err := tableExists(l.ctx, l.d, "sqlite_stat4"); err != nil {
			return err
		} else if ok {
			if _, err := l.d.Write.ExecContext(l.ctx, `DELETE FROM sqlite_stat4`); err != nil {
				return err
			}
		}
		if _, err := l.d.Write.ExecContext(l.ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return err
		}
	}
	return nil
}
