package app

import (
	"net/http"
	"testing"
	"time"
)

// HTTPServer is the store's HTTP server, as Serve runs it.
func HTTPServer(a *App) *http.Server { return a.httpServer() }

// SetWriteTimeout sets the server's write timeout for the test.
func SetWriteTimeout(t testing.TB, d time.Duration) {
	old := writeTimeout
	writeTimeout = d
	t.Cleanup(func() { writeTimeout = old })
}
