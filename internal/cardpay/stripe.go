package cardpay

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stripe/stripe-go/v82"
)

// stripeTimeout bounds one HTTP exchange with Stripe. With the SDK's two
// network retries it stays inside River's two-minute job timeout, so a hung
// connection fails the attempt (and River retries it) instead of the job
// being abandoned mid-call.
const stripeTimeout = 30 * time.Second

// stripeRetries is how often the SDK itself retries a request that failed on
// the network (or met a lock timeout), sending the same Idempotency-Key each
// time. Stripe's answered errors come back to the job, whose retry by River
// sends the same key again, except after a server error (idempotencyKey).
const stripeRetries = 2

// idempotencyKeyLife is how long Stripe keeps an idempotency key with the
// answer it gave: the same key sent later starts a new request.
const idempotencyKeyLife = 24 * time.Hour

// serverError reports whether Stripe answered a call with a server error
// (5xx). Stripe stores that answer under the call's idempotency key and gives
// it back to every later request with the key, for a day (stripe-go notes it
// and leaves such answers to us): repeated under the same key, the call can
// only fail again, for as long as River retries it.
func serverError(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.HTTPStatusCode >= http.StatusInternalServerError
}

// idempotencyKey is the key of a call after round server errors (the row's
// key_round): base at first, base-r1 after the first, and so on, so that the
// attempt after a server error is a new request to Stripe. Whatever the
// failed request may have made is found before the new one acts where it
// could move money (earlierIntent, earlierRefund); a Checkout page made by a
// request that answered an error was never shown to anyone, since its
// address comes only in the answer, so it cannot be paid and expires.
func idempotencyKey(base string, round int) string {
	if round == 0 {
		return base
	}
	return base + "-r" + strconv.Itoa(round)
}

// roundStep is what a failed call adds to its row's key_round.
func roundStep(callErr error) int {
	if serverError(callErr) {
		return 1
	}
	return 0
}

// keyMayBeGone reports whether a job that repeats a Stripe call can no
// longer count on the call's idempotency key to make the repeat harmless:
// an earlier attempt may have reached Stripe, long enough ago for Stripe to
// have forgotten the key. River's backoff keeps a job's attempts within
// about 12 hours, but a store that was down for a day resumes its jobs
// later than that. No attempt comes before the job's creation, so up to a
// day after it (less an hour, for the two clocks) the key still holds.
func (s *Service) keyMayBeGone(job *rivertype.JobRow) bool {
	return job.Attempt > 1 && s.clock.Now().Sub(job.CreatedAt) >= idempotencyKeyLife-time.Hour
}

// findOurs walks a Stripe list (every page) for the first object that ours
// accepts, by the metadata we put on everything we create; the zero value
// when none does.
func findOurs[T any](list stripe.Seq2[T, error], ours func(T) bool) (T, error) {
	var none T
	for obj, err := range list {
		if err != nil {
			return none, err
		}
		if ours(obj) {
			return obj, nil
		}
	}
	return none, nil
}

// newStripeClient builds a client of its own rather than using stripe-go's
// package-level key and backends: two services (or tests) with different
// keys or API URLs never share state.
func newStripeClient(cfg Config, logger *slog.Logger) *stripe.Client {
	bc := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: stripeTimeout},
		LeveledLogger:     stripeLogger{logger},
		MaxNetworkRetries: stripe.Int64(stripeRetries),
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	return stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))
}

// stripeLogger sends the SDK's messages to our structured log. Its errors
// are logged at warning level: every failed call is also returned to us,
// and we log it with the payment it concerns.
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) {
	s.l.Debug("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Infof(format string, v ...any) {
	s.l.Debug("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Warnf(format string, v ...any) {
	s.l.Warn("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Errorf(format string, v ...any) {
	s.l.Warn("stripe: " + fmt.Sprintf(format, v...))
}

// permanent reports whether a Stripe error will be the same however often
// the request is repeated: the request itself is refused (400 invalid, 402
// card declined, 404 unknown object). Network errors, 409 (lock timeout),
// 429 (rate limit), 5xx and 401/403 (a key that an operator can fix) are
// worth retrying.
func permanent(err error) bool {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.HTTPStatusCode {
	case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusNotFound:
		return true
	}
	return false
}

// describe renders a Stripe error for last_error: Stripe's message and
// codes, which an agent can look up; never a card number (Stripe sends none).
func describe(err error) string {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return truncate(err.Error())
	}
	msg := fmt.Sprintf("stripe %d %s", se.HTTPStatusCode, se.Type)
	if se.Code != "" {
		msg += " " + string(se.Code)
	}
	if se.DeclineCode != "" {
		msg += " (" + string(se.DeclineCode) + ")"
	}
	if se.Msg != "" {
		msg += ": " + se.Msg
	}
	return truncate(msg)
}

// needsAuthentication reports a card error by which the bank asks for the
// customer to authenticate an off-session charge.
func needsAuthentication(se *stripe.Error) bool {
	return se != nil && (se.Code == stripe.ErrorCodeAuthenticationRequired ||
		se.DeclineCode == stripe.DeclineCodeAuthenticationRequired)
}
