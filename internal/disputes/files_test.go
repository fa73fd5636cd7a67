package disputes

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"comptoir/internal/blob"
)

// The ZIP copies each file it can read under files/ with a name that is
// never a path, and lists every one in files.txt: an erased file is never
// read (even though its blob is still there), a file gone from the store
// is said to be gone.
func TestZIPBundlesFilesAndSaysWhatIsLeftOut(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(key, content string) {
		if err := store.Put(ctx, key, strings.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
	}
	put("prdfile1", "%PDF-1.4\nthe product\n")
	put("evd_kept", "evidence text\n")
	put("evd_erased", "secret of an erased customer\n")
	p := samplePack()
	p.Files = []File{
		{Source: FileDelivered, Ref: "oli_1", From: "store", Name: "guide", blobKey: "prdfile1"},
		{Source: FileClaimEvidence, Ref: "clm_1", From: "customer", Name: "../../etc/passwd", ContentType: "text/plain; charset=utf-8", blobKey: "evd_kept"},
		{Source: FileClaimEvidence, Ref: "clm_1", From: "customer", Withheld: WithheldErased, blobKey: "evd_erased"},
		{Source: FileTicketAttachment, Ref: "T-1", From: "store", Name: "gone.pdf", blobKey: "tat_gone"},
	}
	z, err := p.ZIP(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = string(b)
	}
	if got["files/01-delivered_file-guide.pdf"] != "%PDF-1.4\nthe product\n" || got["files/02-claim_evidence-_.._etc_passwd"] != "evidence text\n" {
		t.Fatalf("bundled files: %v", keys(got))
	}
	for name, b := range got {
		if strings.Contains(b, "secret of an erased customer") || strings.Contains(name, "tat_gone") || strings.HasPrefix(name, "files/03") || strings.HasPrefix(name, "files/04") {
			t.Fatalf("%s should not be in the ZIP", name)
		}
	}
	m := got["files.txt"]
	for _, want := range []string{"Bundled in the ZIP as files/01-delivered_file-guide.pdf", "application/pdf",
		"Erased at the customer's request (GDPR): not included", "gone.pdf", "No longer in the file store: not included"} {
		if !strings.Contains(m, want) {
			t.Errorf("files.txt lacks %q:\n%s", want, m)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
