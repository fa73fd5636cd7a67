package invoices

import (
	"slices"
	"sync"
)

// issuedCacheSize bounds issuedCache: the documents issued on this node
// whose emails have not been sent yet, the mail worker's backlog. Beyond
// it the oldest are read back from the database, as any document is.
const issuedCacheSize = 1024

// issuedCache keeps the invoices a checkout issued on this node for the
// confirmation to carry (IssueTx with Announced), as written, until the
// mail worker draws their PDF (RenderPDF): it read each back from the
// database, one query with its lines per order, for a document it had in
// memory a few milliseconds before. Documents never change once issued but
// for their number, which numberOnce gives them here too when it commits
// it; RenderPDF uses a document only once numbered, and then only once.
// Anything else (a document issued on another node, numbered by another
// node, dropped for room) is read from the database as before.
type issuedCache struct {
	mu   sync.Mutex
	docs map[string]Invoice
	// ring holds the ids in the order they came, to drop the oldest when
	// full; next is where the next one goes.
	ring []string
	next int
}

// put keeps inv, as committed, not numbered yet.
func (c *issuedCache) put(inv Invoice) {
	inv.Lines = slices.Clone(inv.Lines)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs == nil {
		c.docs = make(map[string]Invoice)
		c.ring = make([]string, issuedCacheSize)
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.docs, old)
	}
	c.ring[c.next] = inv.ID
	c.next = (c.next + 1) % len(c.ring)
	c.docs[inv.ID] = inv
}

// numbered records the numbers a numbering transaction gave and committed.
func (c *issuedCache) numbered(nums []givenNumber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nums {
		if inv, ok := c.docs[n.id]; ok {
			inv.Seq, inv.Number = n.seq, n.number
			c.docs[n.id] = inv
		}
	}
}

// has reports whether any document is kept, so that numbering registers
// nothing when none is.
func (c *issuedCache) has() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.docs) > 0
}

// take returns the numbered document id and forgets it; false when it is
// not kept or not numbered here (then it is forgotten too: the database
// has it).
func (c *issuedCache) take(id string) (Invoice, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inv, ok := c.docs[id]
	if !ok {
		return Invoice{}, false
	}
	delete(c.docs, id)
	return inv, inv.Number != ""
}

// givenNumber is a number numberOnce gave a document.
type givenNumber struct {
	id     string
	seq    int
	number string
}
