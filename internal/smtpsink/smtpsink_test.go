package smtpsink

import (
	"net/smtp"
	"strconv"
	"strings"
	"testing"
)

// A message sent over SMTP is read whole and counted; the URL is the
// relay setting that reaches the sink.
func TestSinkCountsWhatItReceives(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := "smtp+plain://" + s.Addr(); s.URL() != want || !strings.HasSuffix(s.Addr(), ":"+strconv.Itoa(s.Port())) {
		t.Fatalf("URL %q, Addr %q, Port %d", s.URL(), s.Addr(), s.Port())
	}
	for range 2 {
		if err := smtp.SendMail(s.Addr(), nil, "shop@example.test", []string{"ana@example.test"},
			[]byte("Subject: hello\r\n\r\n"+strings.Repeat("a line\r\n", 1000))); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Received(); got != 2 {
		t.Fatalf("received %d, want 2", got)
	}
}
