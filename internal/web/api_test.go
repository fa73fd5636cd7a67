package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

func postJSON(c *apptest.Client, path, body string, header http.Header) apptest.Response {
	return c.Send(http.MethodPost, path, "application/json", strings.NewReader(body), header)
}

func TestAPISignupLoginMe(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	body := `{"email":"Ana@Example.fr","password":"correct horse battery","name":"Ana","language":"fr","country":"FR","city":"Lyon",` +
		`"street":"8 rue Mercière","postcode":"69002"}`
	r := postJSON(c, "/api/v1/signup", body, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	var out struct {
		Token    string
		Customer struct {
			ID, Email, Street, Postcode string
		}
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.Token == "" || out.Customer.Email != "Ana@Example.fr" ||
		out.Customer.Street != "8 rue Mercière" || out.Customer.Postcode != "69002" {
		t.Fatalf("signup answer %s (%v)", r.Body, err)
	}
	r = postJSON(c, "/api/v1/signup", strings.Replace(body, "Ana@Example.fr", "ana@example.FR", 1), nil)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"email_taken"`) {
		t.Fatalf("taken email: %d %s", r.Status, r.Body)
	}
	r = postJSON(c, "/api/v1/login", `{"email":"ana@example.fr","password":"correct horse battery"}`, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	json.Unmarshal([]byte(r.Body), &out)
	me := c.Send(http.MethodGet, "/api/v1/me", "", nil, http.Header{"Authorization": {"Bearer " + out.Token}})
	if me.Status != http.StatusOK || !strings.Contains(me.Body, `"customer_type":"consumer"`) {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}
	r = postJSON(c, "/api/v1/login", `{"email":"ana@example.fr","password":"wrong"}`, nil)
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, `"code":"invalid_credentials"`) {
		t.Fatalf("bad login: %d %s", r.Status, r.Body)
	}
}

func TestAPIRejectsMalformedInput(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"email":"a@b.fr","password":"correct horse battery","unknown":1}`, http.StatusBadRequest, "bad_request"},
		{`{"email":`, http.StatusBadRequest, "bad_request"},
		{`{"email":"a@b.fr"} {"again":1}`, http.StatusBadRequest, "bad_request"},
		{`{"email":"not-an-email","password":"correct horse battery","name":"A","country":"FR","city":"Lyon"}`, http.StatusUnprocessableEntity, "invalid"},
		{`{"email":"a@b.fr","password":"` + strings.Repeat("x", 2<<20) + `"}`, http.StatusRequestEntityTooLarge, "too_large"},
	} {
		r := postJSON(c, "/api/v1/signup", tc.body, nil)
		if r.Status != tc.status || !strings.Contains(r.Body, `"code":"`+tc.code+`"`) {
			t.Errorf("%.60s: %d %.200s", tc.body, r.Status, r.Body)
		}
	}
	if r := c.Get("/api/v1/me"); r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, `"code":"unauthorized"`) {
		t.Fatalf("me without credentials: %d %s", r.Status, r.Body)
	}
}
