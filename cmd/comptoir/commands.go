package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/app"
	"comptoir/internal/audit"
	"comptoir/internal/config"
	"comptoir/internal/db"
)

// errHelpShown ends a command after -h printed its flags.
var errHelpShown = errors.New("help shown")

type cmdEnv struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// waitedOut: the command's database wait ran out (boundDatabase).
	waitedOut bool
}

// flags makes a command's flag set with the shared configuration flags.
func (e *cmdEnv) flags(name string) (*flag.FlagSet, *config.Config) {
	fs := flag.NewFlagSet("comptoir "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs, config.Register(fs)
}

// parse parses args, then the environment, then checks the configuration.
func (e *cmdEnv) parse(fs *flag.FlagSet, cfg *config.Config, args []string) error {
	if err := e.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := config.ApplyEnv(fs, e.getenv); err != nil {
		return err
	}
	return cfg.Resolve()
}

// parseFlags parses a command's flags. A bad flag is bad usage with a
// one-line reason (API.md), which run prints: the flag package's own report
// would add every flag's help before it. -h prints them, on purpose.
func (e *cmdEnv) parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(e.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		// Help asked for is the answer, on stdout as "comptoir help"
		// writes it ("comptoir serve -h | less"), where the flag package
		// writes it to stderr.
		fs.SetOutput(e.stdout)
		fs.Usage()
		return errHelpShown
	case err != nil:
		return config.Usagef("%v (see %s -h)", err, fs.Name())
	}
	return nil
}

// databaseWait bounds how long a command that changes the store (user add,
// disable and enable, token create) waits on the database. Without it such
// a command waited for ever on a lock another session held on PostgreSQL
// (a transaction left open, a table locked by hand), and on SQLite gave up
// after the busy timeout with only the driver's words. Thirty seconds is
// far above what these commands take (milliseconds) and what the store's
// own transactions hold a lock for; past it, or when SQLite's busy timeout
// (db.SQLiteBusyTimeout) gives up first, the command fails with a reason
// that says so (lockedReason), exit 1, nothing changed. A variable for
// the tests.
var databaseWait = 30 * time.Second

// boundDatabase gives e's context the database wait until the returned
// function is called, which notes whether the wait ran out.
func (e *cmdEnv) boundDatabase() (end func()) {
	parent := e.ctx
	ctx, cancel := context.WithTimeout(parent, databaseWait)
	e.ctx = ctx
	return func() {
		e.waitedOut = errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil
		cancel()
		e.ctx = parent
	}
}

// errBackupLocked: pg_dump gave up waiting for a table another session
// held locked.
var errBackupLocked = errors.New("a table stayed locked")

// lockedReason is the one line a command prints when the database stayed
// locked past its wait, or "" when err is not that.
func (e *cmdEnv) lockedReason(err error) string {
	if errors.Is(err, errBackupLocked) {
		return fmt.Sprintf("the database stayed locked by another session (a migration, a LOCK TABLE, a transaction left open) "+
			"for %v, so no backup was written: try again once it is free (%v)", databaseWait, err)
	}
	if !db.IsLocked(err) && !(e.waitedOut && errors.Is(err, context.DeadlineExceeded)) {
		return ""
	}
	return fmt.Sprintf("the database stayed locked by another process or session (a sqlite3 shell, a transaction left open), "+
		"so nothing was changed: try again once it is free (%v)", err)
}

func (e *cmdEnv) logger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

func (e *cmdEnv) serve(args []string) error {
	fs, cfg := e.flags("serve")
	demo := fs.Bool("demo", false, "on an empty database, create demo accounts (and catalog) and print their credentials")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	if *demo {
		demoSeller(cfg)
	}
	start := time.Now()
	log := e.logger(cfg)
	// Listen first: a port in use is reported before any other work.
	ln, err := app.Listen(cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	opts := app.Options{Logger: log, Migrate: true, Workers: true}
	if cfg.SMTPListen != "" {
		// Likewise the SMTP listener: a bad or busy --smtp-listen was
		// found only once the store had started, its reason the last of
		// several lines on stderr.
		if opts.SMTPListener, err = app.ListenSMTP(cfg.SMTPListen); err != nil {
			return err
		}
		defer opts.SMTPListener.Close()
	}
	if cfg.DebugListen != "" {
		if opts.DebugListener, err = app.ListenDebug(cfg.DebugListen); err != nil {
			return err
		}
		defer opts.DebugListener.Close()
	}
	if serveOptionsHook != nil {
		serveOptionsHook(&opts)
	}
	a, err := e.openMigrating(cfg, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	if *demo {
		if err := seedDemo(e.ctx, a, e.stdout); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	log.Info("comptoir is serving", "url", cfg.BaseURL, "listen", ln.Addr().String(), "database", string(a.DB.Engine),
		"started_in", time.Since(start).Round(time.Millisecond).String())
	return a.Serve(e.ctx, ln)
}

// serveOptionsHook lets the crash tests, which run serve in a process of
// its own, shorten River's rescue of jobs left running by a killed node. Nil
// outside tests.
var serveOptionsHook func(*app.Options)

func (e *cmdEnv) migrate(args []string) error {
	fs, cfg := e.flags("migrate")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	a, err := e.openMigrating(cfg, app.Options{Logger: e.logger(cfg), Migrate: true})
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintln(e.stderr, "comptoir: "+migratedSummary(a.Migrated))
	return nil
}

// migratedSummary says what `comptoir migrate` did: which migrations it
// applied, or that there were none to apply.
func migratedSummary(ms []db.Migration) string {
	name := func(m db.Migration) string { return fmt.Sprintf("%04d_%s", m.Version, m.Name) }
	switch len(ms) {
	case 0:
		return "nothing to apply; database is up to date"
	case 1:
		return "applied migration " + name(ms[0]) + "; database is up to date"
	}
	return fmt.Sprintf("applied %d migrations, %s to %s; database is up to date", len(ms), name(ms[0]), name(ms[len(ms)-1]))
}

// migrationNote is how long opening the store and migrating it may take
// before serve and migrate say they are still at it. A variable for the
// tests.
var migrationNote = 15 * time.Second

// openMigrating opens the store as serve and migrate do, migrating it.
// Migrations wait for whatever holds the tables they change, as they must
// (another node migrating, a long transaction): for another node's
// migrations as long as they take, for a session's lock on PostgreSQL in
// bounded attempts that each log what they wait on (db.MigrateOptions);
// but they waited in silence, and a deploy's "comptoir migrate" behind a
// transaction left open in a psql session hung with nothing said. Past
// migrationNote the log says what it is waiting on, once.
func (e *cmdEnv) openMigrating(cfg *config.Config, opts app.Options) (*app.App, error) {
	log := opts.Logger
	if log == nil {
		log = e.logger(cfg)
	}
	note := time.AfterFunc(migrationNote, func() {
		log.Warn("still opening the store: its migrations wait for the database, which another node migrating or another session "+
			"(a transaction left open, a LOCK TABLE; see pg_stat_activity) may hold; Ctrl-C gives up, nothing half done", "after", migrationNote.String())
	})
	defer note.Stop()
	return app.Open(e.ctx, cfg, opts)
}

func (e *cmdEnv) userAdd(args []string) error {
	fs, cfg := e.flags("user add")
	email := fs.String("email", "", "the user's email address (required)")
	role := fs.String("role", "", "customer, agent or admin (required)")
	name := fs.String("name", "", "display name (default: the part of the email before @)")
	passwordFile := fs.String("password-file", "", "file holding the password (default: a random password is printed once)")
	language := fs.String("language", "fr", "fr or en")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	if *email == "" || *role == "" {
		return config.Usagef("user add needs --email and --role")
	}
	switch *role {
	case account.RoleCustomer, account.RoleAgent, account.RoleAdmin:
	default:
		return config.Usagef("--role %q: want customer, agent or admin", *role)
	}
	// Checked before opening the store, so that the reason is the one line
	// on stderr (API.md), not the last after the store's start-up log.
	if *language != "fr" && *language != "en" {
		return config.Usagef("--language %q: want fr or en", *language)
	}
	password, generated := "", false
	if *passwordFile != "" {
		// A password is at most 1024 characters (account's limit).
		b, err := config.ReadFile(*passwordFile, 4<<10)
		if err != nil {
			return config.Usagef("--password-file: %v", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	} else {
		password, generated = randomPassword(), true
	}
	if *name == "" {
		*name, _, _ = strings.Cut(*email, "@")
	}
	defer e.boundDatabase()()
	a, err := app.Open(e.ctx, cfg, app.Options{Logger: e.logger(cfg), ExistingStore: true})
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Accounts.CreateUser(e.ctx, account.CreateUserInput{Email: *email, Role: *role, Password: password, Language: *language, Name: *name})
	var verr *account.ValidationError
	switch {
	case errors.As(err, &verr):
		return config.Usagef("%s", accountRefusal(verr, a.Accounts.MinPasswordLength()))
	case errors.Is(err, account.ErrEmailTaken):
		return config.Usagef("a user with email %s already exists", *email)
	case err != nil:
		return err
	}
	out := fmt.Sprintf("created %s %s (%s)\n", u.Role, u.Email, u.ID)
	if generated {
		out += fmt.Sprintf("password: %s\n", password)
	}
	// A generated password is shown once: if it could not be written
	// (a full disk, a closed pipe) the command fails, where it exited 0
	// and left an account nobody could sign in to.
	if _, err := io.WriteString(e.stdout, out); err != nil {
		if generated {
			return fmt.Errorf("created %s %s, but its password could not be written (%v): reset it from the sign-in page", u.Role, u.Email, err)
		}
		return fmt.Errorf("created %s %s, but could not say so: %w", u.Role, u.Email, err)
	}
	return nil
}

// userByEmail is the account with that email, or a usage error naming it.
func (e *cmdEnv) userByEmail(a *app.App, email string) (account.User, error) {
	u, err := a.Accounts.UserByEmail(e.ctx, email)
	if errors.Is(err, account.ErrNotFound) {
		return account.User{}, config.Usagef("no user with email %s", email)
	}
	return u, err
}

// userDisable disables (sub "disable") or enables again (sub "enable")
// the staff account with that email, as Admin → Staff accounts does, for
// an operator on the server: the audit log names the system as the actor.
// The store's rules hold: a customer is refused, and so is the last
// enabled admin (add another first).
func (e *cmdEnv) userDisable(sub string, args []string) error {
	fs, cfg := e.flags("user " + sub)
	email := fs.String("email", "", "the staff member's email address (required)")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	if *email == "" {
		return config.Usagef("user %s needs --email", sub)
	}
	defer e.boundDatabase()()
	a, err := app.Open(e.ctx, cfg, app.Options{Logger: e.logger(cfg), ExistingStore: true})
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := e.userByEmail(a, *email)
	if err != nil {
		return err
	}
	if sub == "disable" {
		err = a.Accounts.DisableStaff(e.ctx, audit.System, u.ID)
	} else {
		err = a.Accounts.EnableStaff(e.ctx, audit.System, u.ID)
	}
	switch {
	case errors.Is(err, account.ErrNotStaff):
		return config.Usagef("%s is a customer: only an agent or admin can be disabled", u.Email)
	case errors.Is(err, account.ErrLastAdmin):
		return config.Usagef("%s is the last enabled admin: add or enable another admin first", u.Email)
	case err != nil:
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%sd %s %s (%s)\n", sub, u.Role, u.Email, u.ID)
	return err
}

// accountRefusal says why the store refused a new user or token, in the
// terms of the command line: the flag, and what is wrong with its value.
// It said "account: invalid password: password_too_short", the store's
// codes.
func accountRefusal(verr *account.ValidationError, minPassword int) string {
	flags := map[string]string{"email": "--email", "password": "--password-file", "name": "--name", "role": "--role", "language": "--language"}
	var parts []string
	for field, code := range verr.Fields {
		flag, ok := flags[field]
		if !ok {
			flag = field
		}
		what := strings.ReplaceAll(code, "_", " ")
		switch code {
		case account.CodeRequired:
			what = "must not be empty"
		case account.CodeEmailInvalid:
			what = "not an email address"
		case account.CodePasswordTooShort:
			what = fmt.Sprintf("the password is too short (at least %d characters)", minPassword)
		case account.CodePasswordTooLong, account.CodeTooLong:
			what = "too long"
		case account.CodeInvalidCharacters:
			what = "holds characters that are not allowed (line breaks, control characters)"
		}
		parts = append(parts, flag+": "+what)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

func (e *cmdEnv) tokenCreate(args []string) error {
	fs, cfg := e.flags("token create")
	email := fs.String("email", "", "the user the token acts as (required)")
	name := fs.String("name", "cli", "a name to recognise the token by")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	if *email == "" {
		return config.Usagef("token create needs --email")
	}
	defer e.boundDatabase()()
	a, err := app.Open(e.ctx, cfg, app.Options{Logger: e.logger(cfg), ExistingStore: true})
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := e.userByEmail(a, *email)
	if err != nil {
		return err
	}
	plain, tok, err := a.Accounts.CreateToken(e.ctx, u.ID, *name)
	var verr *account.ValidationError
	switch {
	case errors.Is(err, account.ErrDisabled):
		return config.Usagef("%s is disabled: enable it first (comptoir user enable)", u.Email)
	case errors.As(err, &verr):
		return config.Usagef("%s", accountRefusal(verr, a.Accounts.MinPasswordLength()))
	case err != nil:
		return err
	}
	// Alone on stdout, so scripts can capture it; it is never shown again.
	// So a token that could not be written (a full disk, a closed pipe)
	// is revoked, and the command fails: it exited 0, leaving a working
	// token that nobody had.
	if _, err := fmt.Fprintln(e.stdout, plain); err != nil {
		if rerr := a.Accounts.RevokeToken(e.ctx, u.ID, tok.ID); rerr != nil {
			return fmt.Errorf("the token could not be written (%v) nor revoked (%v): revoke %s from the account page", err, rerr, tok.ID)
		}
		return fmt.Errorf("the token could not be written, so it was revoked: %w", err)
	}
	return nil
}

func (e *cmdEnv) backup(args []string) error {
	fs, cfg := e.flags("backup")
	to := fs.String("to", "", "the file to write (required; must not exist)")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	if *to == "" {
		return config.Usagef("backup needs --to FILE")
	}
	target, err := db.ParseURL(cfg.DatabaseURL)
	if err != nil {
		return config.Usagef("%v", err)
	}
	abs, err := filepath.Abs(*to)
	if err != nil {
		return err
	}
	// The file is made here, new (O_EXCL: a backup never replaces
	// another, even one that appeared since the check) and readable by
	// its owner only, as the data directory is: it holds every customer's
	// data and password hash, and the engines made it readable by all. A
	// path that cannot be written is bad usage found before any work.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, iofs.ErrExist):
		return config.Usagef("--to %s already exists; choose a new file", *to)
	case err != nil:
		return config.Usagef("--to: %v", err)
	}
	f.Close()
	// A backup that failed leaves nothing behind: a half-written or empty
	// file would pass for a backup, and block the next attempt's --to.
	done := false
	defer func() {
		if !done {
			os.Remove(abs)
		}
	}()
	d, err := e.openBackupSource(target, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer d.Close()
	switch target.Engine {
	case db.SQLite:
		if err := db.BackupSQLite(e.ctx, d, abs); err != nil {
			return err
		}
	case db.Postgres:
		// pg_dump takes a consistent snapshot while the store keeps serving.
		cmd, err := pgDumpCommand(e.ctx, target.DSN, abs)
		if err != nil {
			return err
		}
		var report bytes.Buffer
		cmd.Stderr = &report
		err = cmd.Run()
		if err != nil {
			// pg_dump gives up a lock wait past --lock-wait-timeout as a
			// statement timeout on its LOCK TABLE.
			if strings.Contains(report.String(), "canceling statement due to statement timeout") && strings.Contains(report.String(), "LOCK TABLE") {
				return fmt.Errorf("%w: pg_dump: %s", errBackupLocked, strings.TrimSpace(report.String()))
			}
			// Its report, then why it stopped, on the one line run prints;
			// it came on lines of its own before "pg_dump: exit status 1".
			return fmt.Errorf("pg_dump: %s (%w)", strings.TrimSpace(report.String()), err)
		}
		e.stderr.Write(report.Bytes())
	}
	done = true
	fmt.Fprintf(e.stderr, "comptoir: backup written to %s\n", abs)
	return nil
}

// openBackupSource opens the database to back up, refusing one that holds
// no store: a mistyped --data-dir or --database-url gave an empty "backup"
// and exit 0 (and, on SQLite, made an empty database where there was
// none). A schema older or newer than this binary's is backed up all the
// same: a backup before an upgrade is the point.
func (e *cmdEnv) openBackupSource(target db.Target, url string) (*db.DB, error) {
	if target.Engine == db.SQLite {
		if _, err := os.Stat(target.Path); errors.Is(err, iofs.ErrNotExist) {
			return nil, config.Usagef("no database at %s: nothing to back up (see --data-dir, --database-url)", target.Path)
		}
	}
	d, err := db.Open(e.ctx, url)
	if errors.Is(err, db.ErrBadURL) {
		return nil, config.Usagef("%v", err)
	}
	if err != nil {
		return nil, err
	}
	v, err := d.SchemaVersion(e.ctx)
	if err == nil && v == 0 {
		err = config.Usagef("the database holds no comptoir store: nothing to back up (see --data-dir, --database-url)")
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// pgDumpCommand is the pg_dump run that writes dsn's database to file.
// The password never goes on its command line, which every local user
// can read (ps, /proc/PID/cmdline): it is taken out of the URL (user
// info, or a password= parameter) and handed over in PGPASSWORD, in the
// child's environment, which only its owner and root can read.
func pgDumpCommand(ctx context.Context, dsn, file string) (*exec.Cmd, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// ParseURL accepted it already; never repeat the URL (a password).
		return nil, errors.New("backup: the database URL cannot be parsed")
	}
	var password string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			password = p
			u.User = url.User(u.User.Username())
		}
	}
	if q := u.Query(); q.Has("password") {
		if password == "" {
			password = q.Get("password")
		}
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	u.RawQuery = encodeForLibpq(libpqQuery(u.Query()))
	// A table another session holds locked (a migration, an operator's
	// LOCK, a transaction left open after an ALTER) made pg_dump wait for
	// ever: it waits as long as the other commands wait for a lock.
	cmd := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--file="+file,
		fmt.Sprintf("--lock-wait-timeout=%d", databaseWait.Milliseconds()), "--dbname="+u.String())
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	return cmd, nil
}

// libpqParams are the URL parameters pg_dump (libpq) knows; it refuses
// any other ("invalid URI query parameter"), where pgx sends it to the
// server as a setting: a store serving with ?search_path=shop could not
// be backed up.
var libpqParams = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true, "passfile": true,
	"channel_binding": true, "connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true, "keepalives_idle": true,
	"keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true, "replication": true,
	"gssencmode": true, "sslmode": true, "requiressl": true, "sslcompression": true, "sslcert": true, "sslkey": true,
	"sslpassword": true, "sslrootcert": true, "sslcrl": true, "sslcrldir": true, "sslsni": true, "requirepeer": true,
	"ssl_min_protocol_version": true, "ssl_max_protocol_version": true, "krbsrvname": true, "gsslib": true,
	"service": true, "target_session_attrs": true, "load_balance_hosts": true,
}

// pgxOnlyParams tune pgx itself and mean nothing to the server.
var pgxOnlyParams = map[string]bool{
	"statement_cache_capacity": true, "description_cache_capacity": true, "default_query_exec_mode": true,
	"min_read_buffer_size": true, "krbspn": true, "servicefile": true,
}

// libpqQuery is q as pg_dump takes it: pgx's own tuning dropped, and the
// server settings pgx sends for any other parameter given to the server
// the way libpq does, as -c name=value in options.
func libpqQuery(q url.Values) url.Values {
	out := url.Values{}
	var settings []string
	for name, values := range q {
		switch {
		case libpqParams[name]:
			out[name] = values
		case pgxOnlyParams[name]:
		default:
			for _, v := range values {
				settings = append(settings, "-c "+optionsEscaper.Replace(name+"="+v))
			}
		}
	}
	if len(settings) > 0 {
		slices.Sort(settings)
		if o := out.Get("options"); o != "" {
			settings = append([]string{o}, settings...)
		}
		out.Set("options", strings.Join(settings, " "))
	}
	return out
}

// encodeForLibpq is q.Encode() with spaces as %20: libpq reads a + as a
// plus sign, not a space.
func encodeForLibpq(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}

// optionsEscaper escapes a word of libpq's options: spaces separate words,
// a backslash keeps the next character.
var optionsEscaper = strings.NewReplacer(`\`, `\\`, " ", `\ `)

func randomPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// version prints the version. It takes the shared configuration like every
// command (API.md), so that a stray argument or an unknown flag is bad
// usage (exit 2) instead of being ignored with exit 0.
func (e *cmdEnv) version(args []string) error {
	fs, cfg := e.flags("version")
	if err := e.parse(fs, cfg, args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "comptoir", version())
	return nil
}

// Version is set at build time (-ldflags "-X main.Version=…"); otherwise the
// module's VCS information is used.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
		if info.Main.Version != "" && info.Main.Version != "(devel)" {
			return info.Main.Version
		}
	}
	return "dev"
}
