package clientaddr

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	proxies := MustParse("127.0.0.1, 10.0.0.0/8, fd00::/8")
	for _, c := range []struct {
		name    string
		trusted Trusted
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies trusted: header ignored", Trusted{}, "127.0.0.1:4000", []string{"203.0.113.7"}, "127.0.0.1"},
		{"no proxies trusted, no header", Trusted{}, "198.51.100.2:4000", nil, "198.51.100.2"},
		{"spoofed header from an untrusted peer", proxies, "198.51.100.2:4000", []string{"203.0.113.7"}, "198.51.100.2"},
		{"spoofed header from an untrusted IPv6 peer", proxies, "[2001:db8::9]:4000", []string{"10.1.2.3"}, "2001:db8::9"},
		{"trusted peer, one hop", proxies, "127.0.0.1:4000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"trusted peer, no header", proxies, "127.0.0.1:4000", nil, "127.0.0.1"},
		{"chain of trusted proxies skipped", proxies, "127.0.0.1:4000", []string{"203.0.113.7, 10.0.0.5, 10.0.0.6"}, "203.0.113.7"},
		{"client-written prefix ignored", proxies, "127.0.0.1:4000", []string{"1.1.1.1, 203.0.113.7, 10.0.0.5"}, "203.0.113.7"},
		{"client claims a trusted address before the real one", proxies, "127.0.0.1:4000", []string{"10.9.9.9, 203.0.113.7"}, "203.0.113.7"},
		{"garbage written by the client left of its address", proxies, "127.0.0.1:4000", []string{"<script>, 203.0.113.7"}, "203.0.113.7"},
		{"several header lines read as one list", proxies, "127.0.0.1:4000", []string{"1.1.1.1", "203.0.113.7, 10.0.0.5", "10.0.0.6"}, "203.0.113.7"},
		{"every hop trusted: the leftmost", proxies, "127.0.0.1:4000", []string{"10.0.0.4, 10.0.0.5"}, "10.0.0.4"},
		{"garbage in the trusted part", proxies, "127.0.0.1:4000", []string{"not-an-ip"}, "127.0.0.1"},
		{"garbage behind a trusted hop", proxies, "127.0.0.1:4000", []string{"unknown, 10.0.0.5"}, "127.0.0.1"},
		{"empty item", proxies, "127.0.0.1:4000", []string{"203.0.113.7,,10.0.0.5"}, "127.0.0.1"},
		{"empty header", proxies, "127.0.0.1:4000", []string{""}, "127.0.0.1"},
		{"CIDR in the header is not an address", proxies, "127.0.0.1:4000", []string{"203.0.113.0/24"}, "127.0.0.1"},
		{"IPv4 with a port", proxies, "127.0.0.1:4000", []string{"203.0.113.7:51234"}, "203.0.113.7"},
		{"IPv6 client", proxies, "127.0.0.1:4000", []string{"2001:DB8:0:0::1"}, "2001:db8::1"},
		{"IPv6 with brackets and a port", proxies, "127.0.0.1:4000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 in brackets", proxies, "127.0.0.1:4000", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"IPv6 with a zone", proxies, "127.0.0.1:4000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"IPv4-mapped client unmapped", proxies, "127.0.0.1:4000", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"IPv6 proxy trusted", proxies, "[fd00::1]:4000", []string{"203.0.113.7, fd12::3"}, "203.0.113.7"},
		{"IPv4-mapped peer trusted as IPv4", proxies, "[::ffff:10.0.0.2]:4000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"unbalanced bracket", proxies, "127.0.0.1:4000", []string{"[2001:db8::1"}, "127.0.0.1"},
		{"peer without a port", proxies, "10.0.0.2", []string{"203.0.113.7"}, "203.0.113.7"},
		{"unreadable peer", proxies, "@", []string{"203.0.113.7"}, "@"},
	} {
		if got := c.trusted.Client(c.remote, c.xff); got != c.want {
			t.Errorf("%s: Client(%q, %q) = %q, want %q", c.name, c.remote, c.xff, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	tr, err := Parse(" 10.0.0.0/8 ,192.168.1.7, ::1, 172.16.5.9/12, ::ffff:100.64.0.0/106,")
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.String(); got != "10.0.0.0/8,192.168.1.7/32,::1/128,172.16.0.0/12,100.64.0.0/10" {
		t.Fatalf("parsed %s", got)
	}
	for in, want := range map[string]bool{"10.255.0.1": true, "192.168.1.7": true, "192.168.1.8": false, "::1": true,
		"172.31.255.255": true, "172.32.0.0": false, "100.100.1.1": true, "::ffff:10.0.0.1": true, "11.0.0.1": false} {
		if got := tr.Contains(netip.MustParseAddr(in)); got != want {
			t.Errorf("Contains(%s) = %v", in, got)
		}
	}
	if tr, err := Parse(""); err != nil || !tr.Empty() {
		t.Fatalf("empty list: %v %v", tr, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0", "10.0.0.0/8;", "fe80::1%eth0", "*", "10.0.0.1, nginx"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestOf(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	if got := Of(r); got != "192.0.2.1" {
		t.Fatalf("without middleware: %q", got)
	}
	r = r.WithContext(WithClient(context.Background(), "203.0.113.7"))
	if got := Of(r); got != "203.0.113.7" {
		t.Fatalf("with middleware: %q", got)
	}
}

func TestLimitKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7":                  "192.0.2.7",
		"::ffff:192.0.2.7":           "192.0.2.7",
		"2001:db8:1:2::1":            "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:eeee:0:9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"fe80::1%eth0":               "fe80::/64",
		"not an address":             "not an address",
	} {
		if got := LimitKey(addr); got != want {
			t.Errorf("LimitKey(%q) = %q, want %q", addr, got, want)
		}
	}
}
