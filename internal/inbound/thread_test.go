package inbound

import (
	"net/mail"
	"testing"
)

func TestReplyToken(t *testing.T) {
	const support = "support@shop.example"
	addrs := func(list ...string) []mail.Address {
		var out []mail.Address
		for _, a := range list {
			out = append(out, mail.Address{Address: a})
		}
		return out
	}
	tests := []struct {
		name   string
		in     []mail.Address
		want   string
		wantOK bool
	}{
		{"plain token", addrs("support+7k3p9qab@shop.example"), "7k3p9qab", true},
		{"case-insensitive", addrs("SUPPORT+AbCdEfGh12@Shop.Example"), "AbCdEfGh12", true},
		{"among others in Cc order", addrs("claire@example.fr", "support+abcdefgh9@shop.example"), "abcdefgh9", true},
		{"64 chars", addrs("support+" + repeat("a", 64) + "@shop.example"), repeat("a", 64), true},
		{"65 chars", addrs("support+" + repeat("a", 65) + "@shop.example"), "", false},
		{"too short", addrs("support+abc@shop.example"), "", false},
		{"bad chars", addrs("support+abc-defgh@shop.example"), "", false},
		{"bare support", addrs("support@shop.example"), "", false},
		{"other domain", addrs("support+7k3p9qab@evil.example"), "", false},
		{"other local part", addrs("sales+7k3p9qab@shop.example"), "", false},
		{"prefix of local part", addrs("supportx+7k3p9qab@shop.example"), "", false},
		{"nothing", nil, "", false},
	}
	for _, tt := range tests {
		got, ok := ReplyToken(tt.in, support)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: ReplyToken = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := ReplyToken(addrs("support+7k3p9qab@shop.example"), "not-an-address"); ok {
		t.Error("bad support address matched")
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestSubjectReference(t *testing.T) {
	tests := []struct {
		subject string
		want    string
		ok      bool
	}{
		{"Re: [#T-7K3P9Q] Livraison", "T-7K3P9Q", true},
		{"TR: suivi #t-7k3p9q", "T-7K3P9Q", true},
		{"#T-7K3P9Q", "T-7K3P9Q", true},
		{"Re: Re: commande (#T-0123456789) urgent", "T-0123456789", true},
		{"Question [#T-7K3P9Q]: et [#T-AAAAAA]", "T-7K3P9Q", true},
		{"#T-7K3P9", "", false},       // 5 symbols
		{"#T-7K3P9Q7K3P9", "", false}, // 11 symbols
		{"#T-7K3PIQ", "", false},      // I is not Crockford
		{"#T-OOOOOO", "", false},      // nor O
		{"T-7K3P9Q without hash", "", false},
		{"#T-7K3P9Q_x", "T-7K3P9Q", true}, // punctuation ends it
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := SubjectReference(tt.subject)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SubjectReference(%q) = %q, %v; want %q, %v", tt.subject, got, ok, tt.want, tt.ok)
		}
	}
}

func TestThreadIDs(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want []string
	}{
		{"in-reply-to first, references newest first",
			Message{MessageID: "<me@x>", InReplyTo: "<c@x>", References: []string{"<a@x>", "<b@x>", "<c@x>"}},
			[]string{"<c@x>", "<b@x>", "<a@x>"}},
		{"apple mail: in-reply-to not last, duplicates, no brackets",
			Message{MessageID: "<me@x>", InReplyTo: "<b@x>", References: []string{"a@x", "<b@x>", "<c@x>", "<a@x>"}},
			[]string{"<b@x>", "<a@x>", "<c@x>"}},
		{"own id left out",
			Message{MessageID: "<me@x>", References: []string{"<a@x>", "<me@x>"}},
			[]string{"<a@x>"}},
		{"nothing", Message{MessageID: "<me@x>"}, nil},
	}
	for _, tt := range tests {
		wantEq(t, tt.name, ThreadIDs(tt.m), tt.want)
	}
	// From a raw header that Apple Mail folded oddly.
	m, err := Parse([]byte("Message-ID: <me@x>\r\nIn-Reply-To: b@x\r\nReferences: <a@x>\r\n  b@x\r\n\t<a@x>,<c@x>\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "parsed", ThreadIDs(m), []string{"<b@x>", "<c@x>", "<a@x>"})
}

func TestIsSupportRecipient(t *testing.T) {
	support := []string{"support@shop.example", "aide@boutique.example"}
	for addr, want := range map[string]bool{
		"support@shop.example":             true,
		"Support@SHOP.example":             true,
		"aide+abcdefgh12@boutique.example": true,
		"support+abcdefgh@shop.example":    true,
		"support+abc@shop.example":         false,
		"postmaster@shop.example":          false,
		"support@evil.example":             false,
		"":                                 false,
		"support":                          false,
	} {
		if got := IsSupportRecipient(addr, support); got != want {
			t.Errorf("IsSupportRecipient(%q) = %v, want %v", addr, got, want)
		}
	}
}
