package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

// apiError is the one error shape of the JSON API.
type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeFieldErrors(w, status, code, message, nil)
}

// apiChallenge is what every 401 of the API says about how to
// authenticate (RFC 9110, section 15.5.2, wants a WWW-Authenticate on a
// 401): a bearer token (RFC 6750), which API.md names.
const apiChallenge = `Bearer realm="comptoir"`

func writeFieldErrors(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", apiChallenge)
	}
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Fields = code, message, fields
	writeJSON(w, status, e)
}

func apiCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	default:
		return "internal"
	}
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	if allow := s.otherMethods(r); allow != "" {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", s.Messages.T(state(r).lang, "error.method_not_allowed"))
		return
	}
	writeError(w, http.StatusNotFound, "not_found", s.Messages.T(state(r).lang, "error.not_found.body"))
}

// apiPathsAsSent answers an API path the mux would clean (a double slash,
// a dot segment) with the API's 404 in JSON: the mux answers those with a
// redirect and an HTML body, and under /api/ every answer is JSON. Pages
// keep the mux's redirect.
func (s *Server) apiPathsAsSent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.HasPrefix(p, "/api/") && r.Method != http.MethodConnect && muxCleanPath(p) != p {
			writeError(w, http.StatusNotFound, "not_found", s.Messages.T(state(r).lang, "error.not_found.body"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// muxCleanPath is the path http.ServeMux redirects to: path.Clean, keeping
// a trailing slash.
func muxCleanPath(p string) string {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// otherMethods lists the methods the API answers at r's path when it has
// no route for r's own method (PUT on /api/v1/products): that is 405 with
// Allow, not 404, which would say the resource does not exist. Empty when
// r's method has a route, whose handler chose 404 itself.
func (s *Server) otherMethods(r *http.Request) string {
	return s.methodsBesides(r, "/api/")
}

// methodsBesides lists the methods routed at r's path when r itself fell
// to the catch-all pattern (the API's "/api/", the pages' "/"); empty when
// r's method has a route, or no method has one.
func (s *Server) methodsBesides(r *http.Request, catchAll string) string {
	if _, pattern := s.mux.Handler(r); pattern != catchAll {
		return ""
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		other := r.Clone(r.Context())
		other.Method = m
		if _, pattern := s.mux.Handler(other); pattern != "/api/" && pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// decodeJSON reads a request body into v, refusing unknown fields and
// trailing data. It answers the client itself and returns false on failure.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", s.Messages.T(state(r).lang, "error.too_large"))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
		return false
	}
	return s.decodeJSONBytes(w, r, body, v)
}

// listFailed answers a list's error: a cursor (?after=) the list never
// gave is 400, on pages and in the API alike; anything else a server error.
func (s *Server) listFailed(w http.ResponseWriter, r *http.Request, err error) {
	var oerr *orders.ValidationError
	var cerr *claims.ValidationError
	var serr *subscriptions.ValidationError
	if errors.As(err, &oerr) || errors.As(err, &cerr) || errors.As(err, &serr) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
		} else {
			s.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		}
		return
	}
	s.serverError(w, r, err)
}

// readBody reads a request body whose raw bytes are needed (an
// Idempotency-Key's request hash). It answers the client itself and
// returns false on failure: 413 past the body limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", s.Messages.T(state(r).lang, "error.too_large"))
		} else {
			writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
		}
		return nil, false
	}
	return body, true
}

// decodeJSONBytes is decodeJSON on a body already read (when the raw bytes
// are needed too, as for an idempotency key's request hash).
func (s *Server) decodeJSONBytes(w http.ResponseWriter, r *http.Request, body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		if key := duplicateKey(body); key != "" {
			err = fmt.Errorf("duplicate key %q", key)
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request")+" ("+jsonProblem(err)+")")
		return false
	}
	return true
}

// jsonProblem says what is wrong with a request body in the client's terms:
// the field's JSON path and the JSON type it wants, never the server's Go
// types (which the decoder's own messages print).
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty: want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.As(err, &typeErr):
		want := jsonKind(typeErr.Type)
		if typeErr.Field == "" {
			return "want " + want + ", not " + jsonGot(typeErr.Value)
		}
		return typeErr.Field + ": want " + want + ", not " + jsonGot(typeErr.Value)
	}
	// Unknown fields ("json: unknown field …"), trailing data, and the
	// field types' own errors (money: "amount" must be…) read well as
	// they are.
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "json: "), "money: ")
}

// apiTime is a time in a request body: RFC 3339, as time.Time reads it, and
// also with the "t" and "z" in lower case that RFC 3339 §5.6 allows and
// time.Time refused (policy.ParseTime takes them the same way). A value
// that is not such a time is a type error naming its field and the time
// it wants, not time.Parse's layout.
type apiTime struct{ time.Time }

func (a *apiTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		got := "object"
		switch c := b[0]; {
		case c == '[':
			got = "array"
		case c == 't' || c == 'f':
			got = "bool"
		case c == '-' || c >= '0' && c <= '9':
			got = "number"
		}
		return &json.UnmarshalTypeError{Value: got, Type: reflect.TypeFor[apiTime]()}
	}
	t, err := time.Parse(time.RFC3339Nano, policy.UpperRFC3339(s))
	if err != nil {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return &json.UnmarshalTypeError{Value: strconv.Quote(s), Type: reflect.TypeFor[apiTime]()}
	}
	a.Time = t
	return nil
}

// jsonKind names the JSON value a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[apiTime]() {
		return `an RFC 3339 time such as "2026-03-08T10:00:00Z"`
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number (in range)"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		if t == reflect.TypeFor[time.Time]() {
			return "an RFC 3339 time as a string"
		}
		return "an object"
	}
	return "another value"
}

// jsonGot words the decoder's description of the value it found ("number
// 2.5", "string", "array").
func jsonGot(v string) string {
	switch {
	case v == "array" || v == "object":
		return "an " + v
	case v == "":
		return "that value"
	case strings.HasPrefix(v, `"`): // a string's value (apiTime)
		return v
	}
	return "a " + v
}

// customerJSON is a user as the API shows it.
type customerJSON struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Language     string    `json:"language"`
	CustomerType string    `json:"customer_type"`
	VATNumber    string    `json:"vat_number,omitempty"`
	Country      string    `json:"country"`
	Region       string    `json:"region,omitempty"`
	City         string    `json:"city"`
	Street       string    `json:"street,omitempty"`
	Postcode     string    `json:"postcode,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

func toCustomerJSON(u account.User) customerJSON {
	return customerJSON{
		ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Language: u.Language,
		CustomerType: u.CustomerType, VATNumber: u.VATNumber, Country: u.Country, Region: u.Region,
		City: u.City, Street: u.Street, Postcode: u.Postcode, CreatedAt: u.CreatedAt,
	}
}

type signupJSON struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	Name         string `json:"name"`
	Language     string `json:"language"`
	Country      string `json:"country"`
	Region       string `json:"region"`
	City         string `json:"city"`
	Street       string `json:"street"`
	Postcode     string `json:"postcode"`
	CustomerType string `json:"customer_type"`
	VATNumber    string `json:"vat_number"`
}

func (s *Server) apiSignup(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, "signup:"+limitAddr(r), signupLimit) {
		return
	}
	var in signupJSON
	if !s.decodeJSON(w, r, &in) {
		return
	}
	u, err := s.Accounts.SignUp(r.Context(), account.SignUpInput{
		Email: in.Email, Password: in.Password, Name: in.Name, Language: in.Language, Country: in.Country,
		Region: in.Region, City: in.City, Street: in.Street, Postcode: in.Postcode, CustomerType: in.CustomerType, VATNumber: in.VATNumber,
	})
	if err != nil {
		s.apiAccountError(w, r, err)
		return
	}
	token, _, err := s.Accounts.CreateSession(r.Context(), u.ID, clientIP(r), r.UserAgent())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "customer": toCustomerJSON(u)})
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	// API.md gives POST /signup and POST /login one body: a client may
	// send sign-up's fields here too, and only email and password count.
	// They were refused as unknown (400).
	var in signupJSON
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if !s.allow(w, r, "signin:"+limitAddr(r), signinLimit) {
		return
	}
	end, ok := s.signinTurn(w, r, in.Email, true)
	if !ok {
		return
	}
	defer end()
	u, err := s.Accounts.Authenticate(r.Context(), in.Email, in.Password)
	if errors.Is(err, account.ErrInvalidCredentials) {
		s.signinFailed(r, in.Email)
	}
	if err != nil {
		s.apiAccountError(w, r, err)
		return
	}
	// The API has no second step: an account with a second factor uses
	// an API token made from its account page instead.
	if need, err := s.needsSecondFactor(r, u); err != nil || need {
		if err != nil {
			s.serverError(w, r, err)
		} else {
			writeError(w, http.StatusUnauthorized, "second_factor_required", s.Messages.T(state(r).lang, "totp.verify_intro"))
		}
		return
	}
	if s.apiTOTPRefused(w, r, &u) {
		return
	}
	token, _, err := s.createSession(r, u)
	if err != nil {
		// Disabled since its password was checked: 401 invalid_credentials.
		s.apiAccountError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "customer": toCustomerJSON(u)})
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toCustomerJSON(*state(r).user))
}

// apiAccountError maps the account service's errors to API errors.
func (s *Server) apiAccountError(w http.ResponseWriter, r *http.Request, err error) {
	lang := state(r).lang
	var verr *account.ValidationError
	switch {
	case errors.As(err, &verr):
		writeFieldErrors(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(lang, "error.bad_request"), s.fieldMessages(lang, verr))
	case errors.Is(err, account.ErrEmailTaken):
		writeError(w, http.StatusConflict, "email_taken", s.Messages.T(lang, "auth.email_taken"))
	case errors.Is(err, account.ErrInvalidCredentials):
		writeError(w, http.StatusUnauthorized, "invalid_credentials", s.Messages.T(lang, "auth.invalid_credentials"))
	default:
		s.serverError(w, r, err)
	}
}
