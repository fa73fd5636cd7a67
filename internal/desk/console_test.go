package desk_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"comptoir/internal/audit"
	"comptoir/internal/blob"
	"comptoir/internal/desk"
)

func TestFillPutsTheTicketIntoTheCannedReply(t *testing.T) {
	e := setup(t)
	c := desk.CannedReply{BodyFR: "Bonjour {name}, ticket {reference} — {store}", BodyEN: "Hello {name}, ticket {reference} — {store}"}
	for _, tc := range []struct {
		name string
		t    desk.Ticket
		want string
	}{
		{"english", desk.Ticket{Lang: "en", CustomerName: "Ana", Reference: "T-ABCDEFGH"}, "Hello Ana, ticket T-ABCDEFGH — Shop"},
		{"french", desk.Ticket{Lang: "fr", CustomerName: "Zoé", Reference: "T-ABCDEFGH"}, "Bonjour Zoé, ticket T-ABCDEFGH — Shop"},
		{"no name leaves no gap", desk.Ticket{Lang: "en", Reference: "T-ABCDEFGH"}, "Hello, ticket T-ABCDEFGH — Shop"},
		// A name that looks like a placeholder is written as is, not
		// expanded again.
		{"placeholder in the name", desk.Ticket{Lang: "en", CustomerName: "{reference}", Reference: "T-ABCDEFGH"}, "Hello {reference}, ticket T-ABCDEFGH — Shop"},
		// The name in a From the trusted mail server did not vouch for is
		// its writer's choice ("Your account is locked, call …"): the
		// draft, which goes to the address's owner, does not greet by it.
		{"sender not verified", desk.Ticket{Lang: "en", CustomerName: "Your account is locked", Reference: "T-ABCDEFGH", SenderUnverified: true},
			"Hello, ticket T-ABCDEFGH — Shop"},
	} {
		if got := e.desk.Fill(c, tc.t); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCannedRepliesAreSeededAndAdminsOnly(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	seeded, err := e.desk.CannedReplies(ctx)
	if err != nil || len(seeded) < 4 {
		t.Fatalf("seeded canned replies: %d (%v)", len(seeded), err)
	}
	for _, c := range seeded {
		if c.TitleFR == "" || c.TitleEN == "" || !strings.Contains(c.BodyFR, "{name}") || !strings.Contains(c.BodyEN, "{name}") {
			t.Errorf("seeded canned reply %+v", c)
		}
	}
	in := desk.CannedInput{TitleFR: "Merci", TitleEN: "Thanks", BodyFR: "Merci {name}.", BodyEN: "Thanks {name}."}
	if _, err := e.desk.CreateCanned(ctx, e.agent, in); !errors.Is(err, desk.ErrForbidden) {
		t.Fatalf("an agent creating a canned reply: %v", err)
	}
	var verr *desk.ValidationError
	if _, err := e.desk.CreateCanned(ctx, e.agent2, desk.CannedInput{TitleFR: "Deux\nlignes", TitleEN: "x", BodyFR: "x"}); !errors.As(err, &verr) ||
		verr.Fields["title_fr"] != "line_break" || verr.Fields["body_en"] != "required" {
		t.Fatalf("invalid canned reply: %v", err)
	}
	c, err := e.desk.CreateCanned(ctx, e.agent2, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.desk.DeleteCanned(ctx, e.agent, c.ID); !errors.Is(err, desk.ErrForbidden) {
		t.Fatalf("an agent deleting: %v", err)
	}
	if err := e.desk.DeleteCanned(ctx, e.agent2, c.ID); err != nil {
		t.Fatal(err)
	}
	after, _ := e.desk.CannedReplies(ctx)
	if len(after) != len(seeded) {
		t.Fatalf("%d canned replies after create and delete, want %d", len(after), len(seeded))
	}
	entries, err := audit.ForSubject(ctx, e.db.Read, "canned_reply", c.ID)
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit of a canned reply: %d entries (%v)", len(entries), err)
	}
}

func TestStoreUploadsChecksEveryFileBeforeStoringAny(t *testing.T) {
	store, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	text := func(s string) *strings.Reader { return strings.NewReader(s) }
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 16)...)
	many := make([]desk.Upload, desk.MaxContactFiles+1)
	for i := range many {
		many[i] = desk.Upload{Name: "a.txt", File: text("a")}
	}
	for _, tc := range []struct {
		name string
		ups  []desk.Upload
		code string
	}{
		{"too many", many, desk.UploadTooMany},
		{"html named pdf", []desk.Upload{{Name: "ok.txt", File: text("fine")}, {Name: "x.pdf", File: text("<html><body>hi</body></html>")}}, desk.UploadForbidden},
		{"executable", []desk.Upload{{Name: "a.png", File: bytes.NewReader([]byte("MZ\x90\x00\x03\x00\x00\x00"))}}, desk.UploadForbidden},
		{"empty", []desk.Upload{{Name: "e.txt", File: text("")}}, desk.UploadEmpty},
		{"too large", []desk.Upload{{Name: "big.txt", File: bytes.NewReader(bytes.Repeat([]byte("a"), desk.MaxContactFileBytes+1))}}, desk.UploadTooLarge},
	} {
		_, _, err := desk.StoreUploads(ctx, store, tc.ups)
		var uerr *desk.UploadError
		if !errors.As(err, &uerr) || uerr.Code != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	atts, discard, err := desk.StoreUploads(ctx, store, []desk.Upload{
		{Name: `..\..\windows/../secret/shot.png`, File: bytes.NewReader(png)},
		{Name: "\u202Egnp.exe", File: text("plain words")},
	})
	if err != nil || len(atts) != 2 {
		t.Fatalf("good files: %v", err)
	}
	if atts[0].FileName != "shot.png" || atts[0].ContentType != "image/png" || atts[1].FileName != "gnp.exe" || atts[1].ContentType != "text/plain; charset=utf-8" {
		t.Fatalf("attachments %+v", atts)
	}
	for _, a := range atts {
		if ok, _ := store.Exists(ctx, a.BlobKey); !ok || !blob.ValidKey(a.BlobKey) {
			t.Fatalf("blob %q not stored under a generated key", a.BlobKey)
		}
	}
	discard()
	for _, a := range atts {
		if ok, _ := store.Exists(ctx, a.BlobKey); ok {
			t.Fatalf("blob %q kept after discard", a.BlobKey)
		}
	}
}

func TestAttachmentsOfNotesAndFlaggedMessagesStayWithStaff(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicQuestion, Message: "Voir la pièce jointe.", Lang: "fr",
		Attachments: []desk.Attachment{{FileName: "a.png", ContentType: "image/png", Size: 3, BlobKey: "att_one"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<x@elsewhere.test>", From: mailAddr("", "stranger@elsewhere.test"),
		ReplyToken: tk.ReplyToken, Subject: "Re", Text: "Me too",
		Attachments: []desk.Attachment{{FileName: "b.png", ContentType: "image/png", Size: 3, BlobKey: "att_two"}}})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := e.desk.Thread(ctx, tk.ID, true)
	var own, flagged string
	for _, m := range thread {
		for _, a := range m.Attachments {
			if m.Flagged {
				flagged = a.ID
			} else {
				own = a.ID
			}
		}
	}
	if own == "" || flagged == "" {
		t.Fatalf("thread %+v", thread)
	}
	if a, err := e.desk.Attachment(ctx, tk.ID, own, true); err != nil || a.BlobKey != "att_one" {
		t.Fatalf("the customer's own file: %+v %v", a, err)
	}
	if _, err := e.desk.Attachment(ctx, tk.ID, flagged, true); !errors.Is(err, desk.ErrNotFound) {
		t.Fatalf("a stranger's file shown to the customer: %v", err)
	}
	if _, err := e.desk.Attachment(ctx, tk.ID, flagged, false); err != nil {
		t.Fatalf("a stranger's file for staff: %v", err)
	}
	other, _ := e.desk.OpenFromContact(ctx, desk.ContactInput{Name: "O", Email: "o@example.net", Topic: desk.TopicQuestion, Message: "Hi", Lang: "en"})
	if _, err := e.desk.Attachment(ctx, other.ID, own, false); !errors.Is(err, desk.ErrNotFound) {
		t.Fatalf("a file through another ticket: %v", err)
	}
}

// Two admins open the same canned reply; the first saves new words, the
// second saves from the page read before: refused, the first edit kept.
// Saving from the reply as it now is goes through. Before, the second
// save put the old words back over the first edit, unseen.
func TestCannedReplyEditsDoNotUndoEachOther(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	c, err := e.desk.CreateCanned(ctx, e.agent2, desk.CannedInput{TitleFR: "Merci", TitleEN: "Thanks", BodyFR: "Merci {name}.", BodyEN: "Thanks {name}."})
	if err != nil {
		t.Fatal(err)
	}
	read := c.Digest()
	first := desk.CannedInput{TitleFR: "Merci", TitleEN: "Thanks", BodyFR: "Merci beaucoup {name}.", BodyEN: "Thanks {name}.", Read: read}
	if _, err := e.desk.UpdateCanned(ctx, e.agent2, c.ID, first); err != nil {
		t.Fatal(err)
	}
	second := desk.CannedInput{TitleFR: "Merci", TitleEN: "Thank you", BodyFR: "Merci {name}.", BodyEN: "Thanks {name}.", Read: read}
	if _, err := e.desk.UpdateCanned(ctx, e.agent2, c.ID, second); !errors.Is(err, desk.ErrCannedChanged) {
		t.Fatalf("a save from a stale page: %v, want ErrCannedChanged", err)
	}
	now, _ := e.desk.CannedReply(ctx, c.ID)
	if now.BodyFR != "Merci beaucoup {name}." || now.TitleEN != "Thanks" {
		t.Fatalf("after the stale save: %+v", now)
	}
	second.Read = now.Digest()
	if got, err := e.desk.UpdateCanned(ctx, e.agent2, c.ID, second); err != nil || got.TitleEN != "Thank you" {
		t.Fatalf("a save from the reply as it is: %+v, %v", got, err)
	}
}
