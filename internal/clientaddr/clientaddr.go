// Package clientaddr finds the address of the client a request comes from
// when comptoir runs behind reverse proxies. The address is what per-client
// rate limits count, and what consent records, sessions and download logs
// keep; behind a proxy the connection's peer is the proxy, so every visitor
// would share one address.
//
// The X-Forwarded-For header is believed only as far as it was written by
// proxies the operator trusts (--trusted-proxies): anyone can send the
// header, so an address in it means something only when the machine that
// put it there is one of ours.
package clientaddr

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trusted is the set of proxies whose X-Forwarded-For is believed. The
// zero value trusts nobody: the peer address is the client's.
type Trusted struct {
	prefixes []netip.Prefix
}

// Parse reads a comma-separated list of CIDRs (10.0.0.0/8, fd00::/8) and
// single addresses (127.0.0.1, ::1). An empty list trusts nobody. Any
// entry that is not an address or a CIDR is an error: a typo must not
// silently leave the store trusting nobody, or everybody.
func Parse(list string) (Trusted, error) {
	var t Trusted
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return Trusted{}, fmt.Errorf("%q is not an address or a CIDR such as 10.0.0.0/8", item)
			}
			p = p.Masked()
		} else {
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return Trusted{}, fmt.Errorf("%q is not an address or a CIDR such as 10.0.0.0/8", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		// An IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) means the IPv4
		// range: addresses are compared unmapped.
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

// MustParse is Parse for lists known to be valid (tests).
func MustParse(list string) Trusted {
	t, err := Parse(list)
	if err != nil {
		panic(err)
	}
	return t
}

// Empty reports whether nobody is trusted.
func (t Trusted) Empty() bool { return len(t.prefixes) == 0 }

// String lists the trusted ranges, for logs.
func (t Trusted) String() string {
	parts := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// Contains reports whether a is a trusted proxy's address.
func (t Trusted) Contains(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client is the client's address for a request from remoteAddr (the
// connection's peer, host:port) carrying the X-Forwarded-For values xff.
//
// When the peer is not trusted, it is the client, whatever the header
// says. When it is trusted, the header's addresses are walked from the
// right (each proxy appends the address it received the request from):
// trusted ones are proxies of ours and skipped, and the first one that is
// not is the client. Anything left of it was written by the client and is
// ignored. An entry that is not an address (garbage, "unknown", an empty
// item) stops the walk and the peer is answered: a header we cannot read
// is not believed in part. When every address is a trusted one, the
// request started inside our network and the leftmost is answered.
//
// Addresses from the header are canonical (IPv4-mapped IPv6 unmapped,
// IPv6 compressed, ports and zones dropped), so that one client cannot
// spell its address several ways to get several rate-limit buckets.
func (t Trusted) Client(remoteAddr string, xff []string) string {
	host := peerHost(remoteAddr)
	if len(t.prefixes) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !t.Contains(peer) {
		return host
	}
	var last netip.Addr
	for i := len(xff) - 1; i >= 0; i-- {
		rest := xff[i]
		for {
			item := rest
			cut := strings.LastIndexByte(rest, ',')
			if cut >= 0 {
				item, rest = rest[cut+1:], rest[:cut]
			}
			a, ok := parseEntry(item)
			if !ok {
				return host
			}
			if !t.Contains(a) {
				return a.String()
			}
			last = a
			if cut < 0 {
				break
			}
		}
	}
	if !last.IsValid() {
		return host // a trusted proxy's own request, or no header
	}
	return last.String()
}

// peerHost is the host part of the connection's address, or the whole of
// it when it has no port (a test's request).
func peerHost(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// parseEntry reads one X-Forwarded-For item: an address, possibly with a
// port (1.2.3.4:5678, [2001:db8::1]:443) or in brackets ([2001:db8::1]),
// as some proxies write them.
func parseEntry(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		if ap, perr := netip.ParseAddrPort(s); perr == nil {
			a, err = ap.Addr(), nil
		} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
		}
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

type ctxKey struct{}

// WithClient records the client's address in ctx, for Of.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, ctxKey{}, addr)
}

// Of is the client's address for r: the one the web server's middleware
// worked out (WithClient), or the peer's address when none did.
func Of(r *http.Request) string {
	if a, ok := r.Context().Value(ctxKey{}).(string); ok {
		return a
	}
	return peerHost(r.RemoteAddr)
}

// LimitKey is addr as per-client rate limits count it: an IPv4 address
// itself, but an IPv6 address as its /64. One subscriber, one host even,
// is given a whole /64 and may pick any address in it for each request:
// counted per address, a limit on sign-ins or sign-ups would bound nothing.
// Anything that is not an address is returned as it is.
func LimitKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}
