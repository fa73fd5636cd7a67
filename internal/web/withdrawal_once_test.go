package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
)

// A withdrawal that refunded nothing (the service fully delivered: refused)
// did not stop a second one sent by hand, by the API or the withdraw form
// (the pages no longer offer it): each filed another claim and sent another
// acknowledgement. One withdrawal per line: the second is 409
// claim_already_decided, told in the visitor's language, and nothing is
// filed.
func TestSecondWithdrawalIsRefused(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	m := h.App.Messages
	o := buyAndDeliver(t, h, u, 100)
	body := `{"kind":"withdrawal","order_id":"` + o.ID + `"}`
	first := postJSON(c, "/api/v1/claims", body, h.Bearer(t, u.ID))
	if first.Status != http.StatusCreated || !strings.Contains(first.Body, `"rule":"withdrawal.service_performed"`) {
		t.Fatalf("first withdrawal: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/claims", body, h.Bearer(t, u.ID))
	var out struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(again.Body), &out); err != nil {
		t.Fatalf("%v: %s", err, again.Body)
	}
	if again.Status != http.StatusConflict || out.Error.Code != "claim_already_decided" || out.Error.Message != m.T("fr", "claim.error.already_withdrawn") {
		t.Fatalf("second withdrawal by the API: %d %s", again.Status, again.Body)
	}
	for _, lang := range []string{"fr", "en"} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		r := c.PostForm("/orders/"+o.ID+"/withdraw", url.Values{"withdraw_key": {"wdk_again_" + lang}})
		if r.Status != http.StatusConflict {
			t.Errorf("%s: withdrawing again by the form: %d, want 409", lang, r.Status)
		}
		mustContain(t, r, m.T(lang, "claim.error.already_withdrawn"))
	}
	cls, _, err := h.App.Claims.List(t.Context(), claims.ListFilter{OrderID: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(cls) != 1 {
		t.Fatalf("%d claims on the order, want 1", len(cls))
	}
}
