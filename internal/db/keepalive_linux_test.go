package db_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// A PostgreSQL connection is opened so that the kernel finds it dead when
// the server goes silent: keepalive probes after PostgresKeepAliveIdle, and
// TCP_USER_TIMEOUT dropping it once data or probes stay unacknowledged for
// PostgresTCPUserTimeout. pgx's own dialer probed after 5 minutes and let
// the kernel retransmit for about 15.
func TestPostgresConnectionsAreProbed(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("SQLite opens no network connection")
	}
	_, u := dbtest.OpenURL(t)
	d, err := db.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	conn, err := d.Write.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var nc net.Conn
	if err := conn.Raw(func(dc any) error {
		nc = dc.(interface{ Conn() *pgx.Conn }).Conn().PgConn().Conn()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		t.Skipf("the test database is reached over %T, not TCP", nc)
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	opt := func(level, name int) int {
		var v int
		var gerr error
		if err := raw.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, name) }); err != nil {
			t.Fatal(err)
		}
		if gerr != nil {
			t.Fatal(gerr)
		}
		return v
	}
	if got, want := opt(unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT), int(db.PostgresTCPUserTimeout.Milliseconds()); got != want {
		t.Errorf("TCP_USER_TIMEOUT %d ms, want %d", got, want)
	}
	if got := opt(unix.SOL_SOCKET, unix.SO_KEEPALIVE); got != 1 {
		t.Errorf("SO_KEEPALIVE %d, want 1", got)
	}
	if got, want := opt(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE), int(db.PostgresKeepAliveIdle.Seconds()); got != want {
		t.Errorf("TCP_KEEPIDLE %d s, want %d", got, want)
	}
}
