package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	comptoirconfig "comptoir/internal/config"
	"comptoir/internal/db"
)

// The baselines: what the machine does without comptoir, measured in the
// same run with the same limits, so that every target is a ratio.

// sqliteInsertBaseline is the raw durable insert rate of SQLite with
// comptoir's own settings (db.Open: WAL, synchronous=FULL, the single write
// connection): rows INSERTs, one commit, one flush, one transaction after
// another. rows = 1 is the baseline.
func sqliteInsertBaseline(ctx context.Context, dir string, lim limits, rows int) (Sample, error) {
	d, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, fmt.Sprintf("baseline-%d.db", rows)))
	if err != nil {
		return Sample{}, err
	}
	defer d.Close()
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS baseline (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		return Sample{}, err
	}
	lim.Concurrency = 1
	return runLib(ctx, func(int) error { return insertRows(ctx, d.Write, rows) }, lim), nil
}

// postgresInsertBaseline is PostgreSQL's insert rate at the given
// concurrency: each worker writes rows rows per transaction on its own
// connection, in a database of its own on the same cluster.
func postgresInsertBaseline(ctx context.Context, url string, lim limits, rows int) (Sample, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return Sample{}, err
	}
	defer pool.Close()
	pool.SetMaxOpenConns(lim.Concurrency)
	pool.SetMaxIdleConns(lim.Concurrency)
	if _, err := pool.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS baseline (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		return Sample{}, err
	}
	return runLib(ctx, func(int) error { return insertRows(ctx, pool, rows) }, lim), nil
}

// insertRows writes rows rows in one transaction: one statement each, as
// an application does; one row is a plain autocommit INSERT.
func insertRows(ctx context.Context, pool *sql.DB, rows int) error {
	if rows == 1 {
		_, err := pool.ExecContext(ctx, `INSERT INTO baseline (v) VALUES ('x')`)
		return err
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO baseline (v) VALUES ('x')`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// barePage is a storefront-like page: a layout, a header, a product with
// its description, a form, a footer. Filler paragraphs bring it to the
// size of comptoir's real product page.
var barePage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — {{.Store}}</title>
<link rel="stylesheet" href="/static/app.{{.Hash}}.css">
</head>
<body>
<header><a href="/">{{.Store}}</a>
<nav><a href="/shop">Shop</a> <a href="/cart">Cart</a> <a href="/signin">Sign in</a></nav>
<form method="post" action="/lang"><input type="hidden" name="csrf" value="{{.Token}}"><button name="lang" value="en">English</button></form>
</header>
<main>
<h1>{{.Title}}</h1>
<p class="price">{{.Price}} per unit</p>
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}
<form method="post" action="/cart">
<input type="hidden" name="product_id" value="{{.ProductID}}">
<label>Quantity <input type="number" name="quantity" min="{{.Min}}" max="{{.Max}}" value="{{.Min}}"></label>
<button>Add to cart</button>
</form>
</main>
<footer><a href="/policy">Refund policy</a> · <a href="/contact">Contact</a></footer>
</body>
</html>
`))

type barePageData struct {
	Lang, Title, Store, Hash, Token, Price, ProductID string
	Min, Max                                          int
	Paragraphs                                        []string
}

const bareFiller = "We do the work for you, carefully and on time: a specialist takes your brief, asks what is missing, " +
	"and delivers as the work gets done so that you can follow it from your account <& you can ask anything>."

// barePageFor builds page data that renders to about size bytes.
func barePageFor(size int) barePageData {
	d := barePageData{Lang: "fr", Title: "Tailored service #1", Store: "comptoir", Hash: "0123456789abcdef",
		Token: "x", Price: "12,50 €", ProductID: "prd_01HZZZZZZZZZZZZZZZZZZZZZZZ", Min: 1, Max: 10000}
	for {
		var b bytes.Buffer
		barePage.Execute(&b, d)
		if b.Len() >= size || len(d.Paragraphs) > 10_000 {
			return d
		}
		d.Paragraphs = append(d.Paragraphs, bareFiller)
	}
}

// bareHTTP is the hidden subcommand that serves the bare template page on a
// loopback address, in a process of its own like comptoir serve.
func bareHTTP(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bare-http", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address")
	size := fs.Int("size", 8000, "page size in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := requireLoopback(*listen); err != nil {
		return err
	}
	data := barePageFor(*size)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	var served atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /shop/{slug}", func(w http.ResponseWriter, r *http.Request) {
		d := data
		d.Title = r.PathValue("slug")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := barePage.Execute(w, d); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		served.Add(1)
	})
	fmt.Fprintf(stdout, "bare-http ready listen=%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// requireLoopback refuses an address that is not on the loopback
// interface: the harness never listens on, nor drives traffic to, anything
// else.
func requireLoopback(hostport string) error {
	if !comptoirconfig.IsLoopbackAddr(hostport) {
		return fmt.Errorf("%s is not a loopback address", hostport)
	}
	return nil
}

// baselineCache measures each baseline once per run and engine.
type baselineCache struct {
	mu   sync.Mutex
	rows map[string]Row
}

func (c *baselineCache) get(key string) (Row, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.rows[key]
	return r, ok
}

func (c *baselineCache) put(key string, r Row) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows == nil {
		c.rows = map[string]Row{}
	}
	c.rows[key] = r
}

// pageSize fetches url and returns its body size.
func pageSize(ctx context.Context, url string, header http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header = header
	resp, err := loopbackClient(1).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, clip(strings.TrimSpace(string(b)), 200))
	}
	return len(b), nil
}
