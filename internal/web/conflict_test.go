package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"comptoir/internal/locale"
)

// A transaction PostgreSQL still aborted for a conflict after db.Tx's
// attempts (a deadlock, 40P01) is answered 503 with Retry-After and the
// reason in the visitor's language, on a page or in the API's envelope:
// nothing was written and trying again will most likely work. Before, a 500
// "something went wrong on our side".
func TestConflictIsAnswered503InTheVisitorsLanguage(t *testing.T) {
	s := bareServer(t)
	lost := fmt.Errorf("orders: place: commit: %w", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"})
	for _, lang := range locale.Supported {
		for _, path := range []string{"/checkout", "/api/v1/orders"} {
			r := httptest.NewRequest(http.MethodPost, path, nil)
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqState{lang: lang}))
			w := httptest.NewRecorder()
			s.serverError(w, r, lost)
			msg := s.Messages.T(lang, "error.conflict")
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
				t.Errorf("%s %s: %d, Retry-After %q; want 503 and 1", lang, path, w.Code, w.Header().Get("Retry-After"))
			}
			if strings.HasPrefix(path, "/api/") {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != "storage_unavailable" || e.Error.Message != msg {
					t.Errorf("%s %s: %s (%v); want storage_unavailable, %q", lang, path, w.Body, err, msg)
				}
				continue
			}
			if body := w.Body.String(); !strings.Contains(body, `<html lang="`+lang+`"`) || !strings.Contains(body, msg) {
				t.Errorf("%s %s: not the store's page with %q: %.300s", lang, path, msg, body)
			}
		}
	}
}
