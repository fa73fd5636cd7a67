package mail_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"comptoir/internal/mail"
)

// Regression guard (issue #9): the spool writes a message through a
// buffer it keeps (a 4 kB allocation per message before), and writes the
// bytes WriteMessage gives, twice in a row. Send makes 18 allocations
// beyond WriteMessage's now; the bound leaves one for the test's neighbours.
func TestSpoolSendReusesItsBuffer(t *testing.T) {
	s := orderConfirmation(t)
	sp, err := mail.NewSpoolSender(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := mail.WriteMessage(&want, s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if err := sp.Send(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(sp.Path(s.ID))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("spooled %d bytes, not the %d WriteMessage writes", len(got), want.Len())
		}
	}
	compose := testing.AllocsPerRun(20, func() { mail.WriteMessage(io.Discard, s) })
	send := testing.AllocsPerRun(20, func() { sp.Send(ctx, s) })
	t.Logf("WriteMessage %v allocations, Send %v", compose, send)
	if send-compose > 19 {
		t.Errorf("Send: %v allocations beyond WriteMessage's %v, want at most 19 (20 with a new buffer per message)", send-compose, compose)
	}
}
