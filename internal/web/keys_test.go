package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/locale"
)

// Every message a page or handler asks for must exist in both languages:
// a missing key would show its id to a customer.
func TestEveryUsedMessageExistsInBothLanguages(t *testing.T) {
	cat := locale.MustLoad()
	used := map[string]string{} // key → where
	tmplKey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return nil
	})
	goKey := regexp.MustCompile(`"((?:auth|account|error|nav|home|lang|footer|console|admin|mail|time|shop|cart|order|orders|balance|receipt|list|pay|policy|subscription|subscriptions|claim|claims|contact|ticket|tickets|survey|legal)\.[a-z0-9_.]*[a-z0-9_])"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = f
		}
	}
	// Keys built at run time from a value: every value they can take.
	families := map[string][]string{
		"order.status.": {"pending_payment", "paid", "processing", "partial", "completed", "canceled", "refunded"},
		"order.error.": {"invalid", "not_found", "product_unavailable", "consent_required", "policy_not_accepted", "terms_not_accepted",
			"insufficient_balance", "out_of_stock", "card_unavailable", "delivery_regression", "over_delivery", "not_deliverable", "over_refund", "download_expired"},
		"subscription.error.": {"terms_not_accepted"},
		"shop.kind.":          {"service", "digital", "subscription"},
		"admin.proof.error.":  {"k", "delay", "origins", "products"},
		"legal.title.":        {"legal_notice", "terms", "privacy", "mediator"},
		"admin.legal.error.":  {"required", "too_long", "invalid_text"},
		"shop.per_":           {"week", "month", "year"},
		"balance.kind.":       {"topup", "purchase", "refund", "admin_credit", "admin_debit", "reversal"},
		"receipt.method.":     {"balance", "card"},
		"dispute.status.":     {"open", "won", "lost"},
		"dispute.submission.": {"none", "queued", "submitted", "failed"},
		"invoices.kind.":      {"invoice", "credit_note"},
		// Used by internal/invoices (Mentions, Title, PDF) through the
		// translate function the web layer passes.
		"invoice.mention.":         {"reverse_charge", "outside_eu", "vat_country", "paid"},
		"invoice.":                 {"title", "credit_title", "issued_on", "order_ref", "refers_to", "total_net", "total_vat", "total_gross"},
		"admin.products.delivery.": {"file", "licence_key"},
		"admin.products.interval.": {"week", "month", "year"},
		"admin.products.warning.":  {"processing_exceeds_claim_window"},
		"admin.products.field.": {"kind", "slug", "name_fr", "name_en", "description_fr", "description_en", "unit_price", "currency",
			"min_quantity", "max_quantity", "processing_hours", "digital_delivery", "file_key", "download_hours", "plan_interval", "trial_days"},
		"contact.error.":             {"name", "email", "order_ref", "topic", "message", "lang", "attachments"},
		"contact.error.attachments.": {"too_many", "too_large", "forbidden_type", "empty"},
		"admin.canned.error.":        {"required", "line_break", "invalid", "too_long"},
		"admin.products.error.": {"required", "too_long", "invalid_characters", "kind_invalid", "kind_immutable", "slug_invalid",
			"slug_taken", "currency_invalid", "price_not_positive", "too_large", "quantity_invalid", "max_below_min", "must_be_one",
			"duration_invalid", "not_applicable", "delivery_invalid", "file_key_invalid", "interval_invalid", "out_of_range",
			"cursor_invalid", "number_invalid", "file_invalid"},
	}
	for prefix, values := range families {
		for _, v := range values {
			used[prefix+v] = "a key built from " + prefix + "…"
		}
	}
	if len(used) < 20 {
		t.Fatalf("found only %d keys: the scan is broken", len(used))
	}
	for key, where := range used {
		for _, lang := range locale.Supported {
			if !cat.Has(lang, key) {
				t.Errorf("%s uses %q, missing in %s", where, key, lang)
			}
		}
	}
}
