package inbound

import (
	"net"
	"strings"
	"testing"
)

// posingListener hands out its connections as coming from the addresses
// queued in from, one each in turn: clients the loopback cannot stand for
// (IPv6 addresses of a /64).
type posingListener struct {
	net.Listener
	from chan string
}

func (l posingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return posingConn{Conn: c, remote: &net.TCPAddr{IP: net.ParseIP(<-l.from), Port: 40000}}, nil
}

type posingConn struct {
	net.Conn
	remote net.Addr
}

func (c posingConn) RemoteAddr() net.Addr { return c.remote }

// An IPv6 host is given a whole /64 and may connect from any address of
// it: the per-address cap counts the /64, where each new address had the
// cap again. Another /64 is another client; IPv4 is counted per address.
func TestPerAddressCapCountsAnIPv6ClientByItsSlash64(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := posingListener{Listener: inner, from: make(chan string, 16)}
	addr, _, _ := startServerOn(t, Config{MaxConnections: 20, MaxConnectionsPerIP: 2}, ln)
	from := func(ip string) string {
		t.Helper()
		ln.from <- ip
		_, line := greetingFrom(t, addr, "")
		return line
	}
	for _, c := range []struct {
		ip       string
		accepted bool
	}{
		{"2001:db8:1:2::1", true},
		{"2001:db8:1:2::2", true},
		{"2001:db8:1:2:ffff:ffff:ffff:fffe", false}, // the same /64, at its cap
		{"2001:db8:1:3::1", true},                   // another /64
		{"192.0.2.1", true},
		{"::ffff:192.0.2.1", true}, // the same IPv4 client, mapped
		{"192.0.2.1", false},
		{"192.0.2.2", true}, // IPv4: another address is another client
	} {
		line := from(c.ip)
		if c.accepted && !strings.HasPrefix(line, "220 ") {
			t.Errorf("connection from %s: %q, want 220", c.ip, line)
		}
		if !c.accepted && !strings.Contains(line, "421 4.7.0 ") {
			t.Errorf("connection from %s: %q, want 421 (its client is at its cap)", c.ip, line)
		}
	}
}
