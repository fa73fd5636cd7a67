package main

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"comptoir/internal/db"
)

var smtpAddrRE = regexp.MustCompile(`inbound SMTP listening.*\baddr=(\S+)`)

// waitLoggedAddr reads the server's log until a line matching re (its
// first group the address) names a listener's address: the inbound SMTP
// listener's or the profiler's, logged as the server starts serving. The
// address must be on loopback.
func waitLoggedAddr(ctx context.Context, logPath string, re *regexp.Regexp, what string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(logPath); err == nil {
			if m := re.FindSubmatch(b); m != nil {
				return string(m[1]), requireLoopback(string(m[1]))
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %s in %s after %s", what, logPath, timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// smtpMessageID is the Message-ID of the harness's n-th inbound message.
func smtpMessageID(engine string, n uint64) string {
	return "<bench-smtp-" + engine + "-" + strconv.FormatUint(n, 10) + "@bench.invalid>"
}

// inboundEmail: messages from pool customers delivered to the built-in SMTP
// listener over loopback, each on a connection kept by its client (MAIL,
// RCPT, DATA, as a relay would), stored and threaded into a ticket before
// the listener answers 250. Every message accepted is checked afterwards in
// the database.
func inboundEmail() scenario {
	const name = "inbound email (SMTP)"
	return scenario{
		Name: name, Target: Target{RateAtLeast, 200},
		Run: func(e *env, lim limits) (Sample, error) {
			if e.smtp == "" {
				return Sample{}, fmt.Errorf("the server has no inbound SMTP listener")
			}
			clients := make([]*smtp.Client, max(lim.Concurrency, 1))
			defer func() {
				for _, c := range clients {
					if c != nil {
						c.Quit()
					}
				}
			}()
			var seq atomic.Uint64
			pool := e.set.Pool
			return runLib(e.ctx, func(w int) error {
				n := seq.Add(1)
				c := clients[w]
				if c == nil {
					conn, err := net.DialTimeout("tcp", e.smtp, 10*time.Second)
					if err != nil {
						return err
					}
					if c, err = smtp.NewClient(conn, "bench.invalid"); err != nil {
						conn.Close()
						return err
					}
					if err := c.Hello("bench.invalid"); err != nil {
						c.Close()
						return err
					}
					clients[w] = c
				}
				err := sendOne(c, pool[n%uint64(len(pool))].Email, e.supportAddr, smtpMessageID(e.engine, n), n)
				if err != nil {
					c.Close()
					clients[w] = nil
					return err
				}
				e.ack(name, smtpMessageID(e.engine, n))
				return nil
			}, lim), nil
		},
		Verify: verifyInbound(name),
	}
}

func sendOne(c *smtp.Client, from, to, msgID string, n uint64) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	msg := "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: Question " + strconv.FormatUint(n, 10) +
		"\r\nMessage-ID: " + msgID + "\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,\r\nI have a question about my last order: when will the work be delivered?\r\nThank you.\r\n"
	if _, err := wc.Write([]byte(msg)); err != nil {
		wc.Close()
		return err
	}
	return wc.Close() // the server's answer to the data: 250 once stored
}

// verifyInbound checks that every message the listener accepted is stored.
func verifyInbound(scenario string) func(ctx context.Context, e *env, dbURL string) (string, error) {
	return func(ctx context.Context, e *env, dbURL string) (string, error) {
		e.mu.Lock()
		ids := append([]string(nil), e.acked[scenario]...)
		e.mu.Unlock()
		d, err := db.Open(ctx, dbURL)
		if err != nil {
			return "", err
		}
		defer d.Close()
		var n int
		prefix := strings.TrimSuffix(smtpMessageID(e.engine, 0), "0@bench.invalid>")
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_messages WHERE message_id LIKE $1`, prefix+"%").Scan(&n); err != nil {
			return "", err
		}
		if n < len(ids) {
			return "", fmt.Errorf("%d messages accepted, only %d stored", len(ids), n)
		}
		return fmt.Sprintf("all %d accepted messages found after the server stopped", len(ids)), nil
	}
}
