// Package benchdata fills a freshly migrated comptoir database with a
// generated store of a chosen size, for the benchmark harness
// (cmd/comptoir-bench): customers, products, orders with their lines and
// consent records, support tickets with their messages, subscriptions with
// their paid periods, and balance accounts whose running totals equal the sum
// of their entries (orders and periods are paid from the balance), as
// billing's Reconcile demands.
//
// It writes with multi-row INSERTs in large transactions, on SQLite and
// PostgreSQL alike, and shares one password hash between every account (an
// argon2id hash per customer would cost minutes and prove nothing).
// Everything it makes is deterministic for a given seed, except the moment
// it is made: history ends at Options.Now.
package benchdata

import (
	"fmt"
	"strconv"
	"strings"
)

// Scale is the size of a generated store.
type Scale struct {
	Name      string
	Customers int
	Orders    int
	// Messages is the number of support ticket messages. The support desk
	// is not built yet: Load reports them as skipped until its tables exist.
	Messages int
	Products int
	// Pool is how many customers get an API token and a browser session,
	// for the load generator to act as them.
	Pool int
	// Agents is how many support agents (with a session each) exist.
	Agents int
	// Subscriptions is how many subscriptions were ever taken, most of
	// them ended, each with its paid periods.
	Subscriptions int
}

// Scales are the named sizes, smallest first.
var Scales = []Scale{
	{Name: "tiny", Customers: 1_000, Orders: 10_000, Messages: 10_000, Products: 50, Pool: 200, Agents: 4, Subscriptions: 2_000},
	{Name: "small", Customers: 10_000, Orders: 100_000, Messages: 100_000, Products: 100, Pool: 500, Agents: 8, Subscriptions: 10_000},
	{Name: "medium", Customers: 30_000, Orders: 300_000, Messages: 300_000, Products: 200, Pool: 1_000, Agents: 8, Subscriptions: 30_000},
	{Name: "full", Customers: 100_000, Orders: 1_000_000, Messages: 1_000_000, Products: 200, Pool: 1_000, Agents: 16, Subscriptions: 100_000},
}

// ParseScale reads a named scale ("tiny", "small", "medium", "full"), or a
// custom one as "customers=N,orders=N[,messages=N,products=N,pool=N,agents=N,subscriptions=N]"
// (missing keys take the full scale's values; the pool and, when not given,
// the subscriptions are bounded by the customers).
func ParseScale(s string) (Scale, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	for _, sc := range Scales {
		if s == sc.Name {
			return sc, nil
		}
	}
	if !strings.Contains(s, "=") {
		return Scale{}, fmt.Errorf("unknown scale %q (want %s, or customers=N,orders=N,...)", s, scaleNames())
	}
	sc := Scales[len(Scales)-1]
	sc.Name = "custom"
	subs := -1
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if !ok || err != nil || n < 0 {
			return Scale{}, fmt.Errorf("scale: %q is not key=number", part)
		}
		switch k {
		case "customers":
			sc.Customers = n
		case "orders":
			sc.Orders = n
		case "messages":
			sc.Messages = n
		case "products":
			sc.Products = n
		case "pool":
			sc.Pool = n
		case "agents":
			sc.Agents = n
		case "subscriptions":
			subs = n
		default:
			return Scale{}, fmt.Errorf("scale: unknown key %q", k)
		}
	}
	if sc.Customers < 1 || sc.Products < 1 || sc.Agents < 1 {
		return Scale{}, fmt.Errorf("scale: customers, products and agents must be at least 1")
	}
	sc.Pool = min(max(sc.Pool, 1), sc.Customers)
	if subs >= 0 {
		sc.Subscriptions = subs
	} else {
		sc.Subscriptions = min(sc.Subscriptions, sc.Customers)
	}
	return sc, nil
}

func scaleNames() string {
	names := make([]string, len(Scales))
	for i, sc := range Scales {
		names[i] = sc.Name
	}
	return strings.Join(names, ", ")
}

func (s Scale) String() string {
	return fmt.Sprintf("%s (%d customers, %d orders, %d messages, %d products, %d subscriptions)", s.Name, s.Customers, s.Orders,
		s.Messages, s.Products, s.Subscriptions)
}
