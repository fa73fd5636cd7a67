package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/locale"
)

// A server error or an unavailable database is no dead end: the page says
// its language and leads back to the store. The 500 page is plain (the
// templates may be what broke); the 503 page is the store's, with its
// shell.
func TestErrorPagesLeadBackInTheVisitorsLanguage(t *testing.T) {
	s := bareServer(t)
	for _, lang := range locale.Supported {
		for _, c := range []struct {
			status int
			answer func(http.ResponseWriter, *http.Request)
			shell  bool
		}{
			{http.StatusInternalServerError, func(w http.ResponseWriter, r *http.Request) { s.serverError(w, r, errors.New("boom")) }, false},
			{http.StatusServiceUnavailable, s.storageUnavailable, true},
		} {
			r := httptest.NewRequest(http.MethodPost, "/contact", nil)
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqState{lang: lang}))
			w := httptest.NewRecorder()
			c.answer(w, r)
			body := w.Body.String()
			if w.Code != c.status {
				t.Errorf("%s: status %d, want %d", lang, w.Code, c.status)
			}
			if !strings.Contains(body, `<html lang="`+lang+`"`) {
				t.Errorf("%s %d: no <html lang=%q>: %s", lang, c.status, lang, body)
			}
			if !strings.Contains(body, `<a href="/">`+s.Messages.T(lang, "nav.home")+`</a>`) {
				t.Errorf("%s %d: no link back to the store: %s", lang, c.status, body)
			}
			if c.shell && (!strings.Contains(body, `<nav aria-label=`) || !strings.Contains(body, s.Messages.T(lang, "error.storage_unavailable"))) {
				t.Errorf("%s %d: not the store's page with its message: %s", lang, c.status, body)
			}
		}
	}
}

// A panic is answered outside identify, which gave the request its
// language: the 500 page is still in the language the visitor's browser or
// switcher asks for. Before, it was always French.
func TestPanicPageInTheVisitorsLanguage(t *testing.T) {
	s := bareServer(t)
	h := s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	for _, c := range []struct{ acceptLanguage, cookie, want string }{
		{"en-GB,en;q=0.9", "", locale.EN},
		{"fr-FR", "", locale.FR},
		{"fr-FR", locale.EN, locale.EN},
	} {
		r := httptest.NewRequest(http.MethodGet, "/shop", nil)
		r.Header.Set("Accept-Language", c.acceptLanguage)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: c.cookie})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `<html lang="`+c.want+`"`) {
			t.Errorf("%+v: %d, want a 500 page in %s: %.300s", c, w.Code, c.want, w.Body.String())
		}
	}
}

// bareServer is a Server with its pages and messages but no database or
// services: enough for the pages that answer failures.
func bareServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Deps{Messages: locale.MustLoad(), Clock: clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)), StoreName: "Comptoir Test"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
