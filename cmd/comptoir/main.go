// Command comptoir runs the store: its web server, its jobs, and the
// administrative commands around them. See API.md for the contract.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"comptoir/internal/config"
)

// Exit codes: 0 done, 1 failed while running, 2 bad usage or configuration.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	usageHeader = `usage: comptoir <command> [flags]

commands:
  serve [--demo]                 run the store (web, jobs, mail)
  migrate                        apply database migrations and exit
  user add --email E --role R    create a customer, agent or admin
  user disable|enable --email E  stop (or restore) a staff member's access
  token create --email E         print a new API token for that user
  policy check FILE | eval ...   validate a refund policy; print a claim's decision
  backup --to FILE               consistent copy of the data while serving
  version                        print the version

Every command takes the shared flags (see "comptoir serve -h"), each also
settable as COMPTOIR_<FLAG> in the environment.
`
)

// The one-line usages of the commands with subcommands.
const (
	userUsage  = "usage: comptoir user add --email E --role customer|agent|admin [--password-file F] [--language fr|en] | user disable|enable --email E"
	tokenUsage = "usage: comptoir token create --email E [--name N]"
)

func main() {
	ctx, stop := signalContext()
	// Writing to a closed pipe (comptoir token create | head -c0) then
	// fails with EPIPE, which run reports and acts on (a token that could
	// not be written is revoked), instead of killing the process half-way
	// through. Notify, not Ignore: an ignored signal would stay ignored in
	// pg_dump.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// signalContext is cancelled by the first SIGTERM or interrupt, which
// starts a graceful stop (serve finishes what is in flight, for up to about
// 25 s). A second one ends the process at once, as it would without a
// handler: caught too, it was ignored, and an operator pressing Ctrl-C
// again waited all the same. Nothing acknowledged is lost by it, as after
// a SIGKILL.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
		}
		// The handler goes before the graceful stop begins (before the
		// listeners close), so that a signal sent once the stop is seen
		// meets the default action; removed after it, by a goroutine
		// woken by the context, it missed a second signal sent at once.
		signal.Stop(sigs)
		cancel()
	}()
	return ctx, cancel
}

// run executes one command; it is main without the process around it, so
// tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		// Bad usage, so one line (API.md); "comptoir help" shows the rest.
		fmt.Fprintln(stderr, "comptoir: no command given (try comptoir help)")
		return exitUsage
	}
	out := &checkedWriter{w: stdout}
	env := &cmdEnv{ctx: ctx, stdout: out, stderr: stderr, getenv: getenv}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = env.serve(rest)
	case "migrate":
		err = env.migrate(rest)
	case "user":
		sub := ""
		if len(rest) > 0 {
			sub = rest[0]
		}
		switch sub {
		case "add":
			err = env.userAdd(rest[1:])
		case "disable", "enable":
			err = env.userDisable(sub, rest[1:])
		case "-h", "--help", "help":
			// Help asked for is an answer, as "comptoir help" and
			// "policy -h" are: it was bad usage, exit 2.
			fmt.Fprintln(out, userUsage)
		default:
			err = config.Usagef("%s", userUsage)
		}
	case "token":
		switch {
		case len(rest) > 0 && rest[0] == "create":
			err = env.tokenCreate(rest[1:])
		case len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help"):
			fmt.Fprintln(out, tokenUsage)
		default:
			err = config.Usagef("%s", tokenUsage)
		}
	case "policy":
		err = env.policy(rest)
	case "backup":
		err = env.backup(rest)
	case "version", "--version", "-version":
		err = env.version(rest)
	case "help", "-h", "--help":
		fmt.Fprint(out, usageHeader)
	default:
		err = config.Usagef("unknown command %q (try comptoir help)", cmd)
	}
	if err == nil && out.err != nil {
		// What a command prints on stdout is its result (a token, a
		// decision, a version): not written, the command did not do its
		// work, whatever else it did.
		err = fmt.Errorf("cannot write the result to stdout: %w", out.err)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelpShown):
		return exitOK
	case config.IsUsage(err):
		fmt.Fprintln(stderr, "comptoir:", oneLine(err.Error()))
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		// A SIGTERM or Ctrl-C before the command was done (a migrate
		// waiting for a lock, a start-up): it said "read schema version:
		// context canceled".
		fmt.Fprintln(stderr, "comptoir: interrupted by a signal before it was done:", oneLine(err.Error()))
		return exitFailed
	case env.lockedReason(err) != "":
		fmt.Fprintln(stderr, "comptoir:", oneLine(env.lockedReason(err)))
		return exitFailed
	default:
		fmt.Fprintln(stderr, "comptoir:", oneLine(err.Error()))
		return exitFailed
	}
}

// oneLine is a reason as the one line a command ends with (API.md). Some
// come in several: the PostgreSQL driver's when the server cannot be
// reached lists every attempt on lines of their own ("failed to connect
// to `user=shop database=shop`:" then, indented, "127.0.0.1:5432
// (127.0.0.1): dial error: … connection refused", twice), so an operator
// whose database was down read three lines, the last a repeat (a name
// that does not resolve: the lookup's error twice). Lines are joined, a
// line already said dropped.
func oneLine(reason string) string {
	var b strings.Builder
	for _, l := range strings.Split(reason, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(b.String(), l) {
			continue
		}
		switch {
		case b.Len() == 0:
		case strings.HasSuffix(b.String(), ":"):
			b.WriteString(" ")
		default:
			b.WriteString("; ")
		}
		b.WriteString(l)
	}
	return b.String()
}

// checkedWriter keeps the first error writing to w.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
