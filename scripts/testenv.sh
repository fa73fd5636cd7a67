#!/usr/bin/env bash
# testenv.sh — the self-setting-up test environment of comptoir.
#
#   testenv.sh ensure-tools   install what the tests need (PostgreSQL, chromium, poppler-utils with
#                             apt-get; stripe-mock with go install, at a pinned version)
#   testenv.sh pg-start DIR   start a throw-away PostgreSQL cluster in DIR; prints its URL on stdout
#   testenv.sh pg-stop DIR    stop that cluster and remove DIR
#   testenv.sh pg-bindir      print the directory holding the PostgreSQL server binaries
#   testenv.sh stripe-mock-start DIR   start stripe-mock on a free loopback port, its files in DIR;
#                             prints its URL on stdout
#   testenv.sh stripe-mock-stop DIR    stop that stripe-mock and remove DIR
#   testenv.sh stripe-mock-path        print the path of the pinned stripe-mock binary
#
# Only pg-start and stripe-mock-start write to stdout (exactly one line, the URL); everything else
# goes to stderr.
# Under CI=true a tool that is missing and cannot be installed is an error, never a warning.
set -euo pipefail

readonly PG_FIRST_PORT=55432
readonly PG_LAST_PORT=55631
readonly PG_SUPERUSER=comptoir
readonly PG_READY_SECONDS=30
readonly MARKER=.comptoir-testenv
# stripe-mock: Stripe's API answered from its OpenAPI spec and fixtures, for the card payment tests.
readonly STRIPE_MOCK_MODULE=github.com/stripe/stripe-mock
readonly STRIPE_MOCK_VERSION=v0.203.0
readonly STRIPE_MOCK_FIRST_PORT=12111
readonly STRIPE_MOCK_LAST_PORT=12310
readonly STRIPE_MOCK_READY_SECONDS=30

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }

is_ci() { [[ ${CI:-} == true || ${CI:-} == 1 ]]; }

usage() {
	cat >&2 <<'EOF'
usage: testenv.sh ensure-tools
       testenv.sh pg-start DIR    (prints postgres://comptoir@127.0.0.1:PORT/postgres?sslmode=disable;
                               durability off unless COMPTOIR_PG_DURABLE=1)
       testenv.sh pg-stop DIR
       testenv.sh pg-bindir
       testenv.sh stripe-mock-start DIR    (prints http://127.0.0.1:PORT)
       testenv.sh stripe-mock-stop DIR
       testenv.sh stripe-mock-path
EOF
}

# pg_bindir prints the directory holding initdb/pg_ctl/postgres, or fails.
# pg_config may come from libpq-dev and point at a directory without initdb, so it is
# only trusted when initdb is really there; otherwise the highest /usr/lib/postgresql/N/bin.
pg_bindir() {
	local d
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	fi
	d=$(
		for c in /usr/lib/postgresql/*/bin; do
			[[ -x $c/initdb && -x $c/pg_ctl ]] && printf '%s\n' "$c"
		done | sort -V | tail -n 1
	)
	[[ -n $d ]] || return 1
	printf '%s\n' "$d"
}

chromium_path() {
	if [[ -x /usr/bin/chromium ]]; then
		printf '%s\n' /usr/bin/chromium
	else
		command -v chromium 2>/dev/null
	fi
}

# missing_packages prints the apt packages whose tools are absent, one per line.
missing_packages() {
	pg_bindir >/dev/null 2>&1 || echo postgresql
	chromium_path >/dev/null 2>&1 || echo chromium
	command -v pdftotext >/dev/null 2>&1 || echo poppler-utils
}

cmd_ensure_tools() {
	ensure_packages
	ensure_stripe_mock
}

# ensure_packages installs the apt packages whose tools are missing.
ensure_packages() {
	local -a missing
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]} == 0)); then
		log "tools present (postgresql in $(pg_bindir), $(chromium_path), $(command -v pdftotext))"
		return 0
	fi
	if ((EUID != 0)); then
		if is_ci; then
			die "missing ${missing[*]} and not root, cannot apt-get install them (CI=true: this is a failure)"
		fi
		log "warning: missing ${missing[*]} and not root; install them with: sudo apt-get install ${missing[*]}"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available"
	log "installing ${missing[*]}"
	local t0=$SECONDS
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }; then
		is_ci && die "apt-get install ${missing[*]} failed"
		log "warning: apt-get install ${missing[*]} failed; continuing without them"
		return 0
	fi
	log "installed ${missing[*]} in $((SECONDS - t0))s"
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]} > 0)); then
		is_ci && die "still missing after apt-get install: ${missing[*]}"
		log "warning: still missing after apt-get install: ${missing[*]}"
	fi
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
	# shellcheck disable=SC2016 # $1 is expanded by the inner bash
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# as_owner USER CMD...: run CMD as USER (or directly when USER is empty), from DIR so that an
# unreadable current directory (e.g. /root) does not bother PostgreSQL, and without our lock fd.
as_owner() {
	local user=$1
	shift
	if [[ -n $user ]]; then
		(cd "$PGDIR" && runuser -u "$user" -- "$@" 9>&-)
	else
		(cd "$PGDIR" && "$@" 9>&-)
	fi
}

cmd_pg_start() {
	(($# == 1)) || { usage; exit 2; }
	[[ -n $1 ]] || die "pg-start: empty DIR"
	local bindir
	bindir=$(pg_bindir) || die "PostgreSQL server binaries not found (no initdb under pg_config --bindir or /usr/lib/postgresql/*/bin); run: testenv.sh ensure-tools"

	mkdir -p "$1"
	PGDIR=$(cd "$1" && pwd -P)
	[[ ! -e $PGDIR/data ]] || die "pg-start: $PGDIR/data already exists; use a fresh directory"
	: >"$PGDIR/$MARKER" # lets pg-stop know it may delete this directory
	local sockdir=$PGDIR/sock
	# A unix socket path is limited to 107 bytes: DIR/sock/.s.PGSQL.NNNNN must fit.
	((${#sockdir} + 16 <= 107)) || die "pg-start: DIR path too long for a unix socket: $PGDIR"
	mkdir -p "$sockdir"

	local user=""
	if ((EUID == 0)); then
		# initdb and postgres refuse to run as root.
		if id -u postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
		chown -R "$user" "$PGDIR"
		runuser -u "$user" -- test -w "$PGDIR" ||
			die "pg-start: $user cannot write to $PGDIR (is a parent directory closed to it?)"
	fi

	local locale=C
	if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale=C.UTF-8; fi
	log "initdb in $PGDIR/data with $bindir${user:+ as $user}"
	as_owner "$user" "$bindir/initdb" -D "$PGDIR/data" -U "$PG_SUPERUSER" --auth=trust \
		-E UTF8 --locale="$locale" --no-sync >"$PGDIR/initdb.log" 2>&1 ||
		{ cat "$PGDIR/initdb.log" >&2; die "initdb failed"; }

	# Trust, but on loopback only (the server listens on 127.0.0.1 alone anyway).
	cat >"$PGDIR/data/pg_hba.conf" <<'EOF'
# throw-away test cluster: trust on loopback only
local all all trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
EOF
	# Throw-away data: durability off for speed, unless COMPTOIR_PG_DURABLE=1 (the benchmark, whose
	# checkout target is about orders durable when acknowledged, as on a real server).
	local durable=off
	[[ ${COMPTOIR_PG_DURABLE:-} != 1 ]] || durable=on
	cat >>"$PGDIR/data/postgresql.conf" <<EOF

# --- comptoir throw-away test cluster (scripts/testenv.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
max_connections = 300
shared_buffers = 128MB
fsync = $durable
synchronous_commit = $durable
full_page_writes = $durable
max_wal_size = 1GB
checkpoint_timeout = 30min
logging_collector = off
EOF
	[[ -z $user ]] || chown "$user" "$PGDIR/data/pg_hba.conf" "$PGDIR/data/postgresql.conf"

	# Serialise port probing and startup among concurrent pg-start calls on this machine, so two
	# clusters started at once do not pick the same free port. Postgres itself must not inherit
	# the lock (fd 9 is closed in as_owner), or the lock would live as long as the server.
	# The lock file is shared by all users (mode 666); a read-only descriptor is enough for flock.
	local lock=${TMPDIR:-/tmp}/comptoir-testenv-port.lock
	[[ -e $lock ]] || (umask 000 && : >>"$lock") 2>/dev/null || true
	if [[ -r $lock ]] && exec 9<"$lock"; then
		flock -w 120 9 || die "pg-start: could not take the port lock $lock"
	else
		log "warning: cannot open $lock; starting without the port lock"
	fi

	local port=$PG_FIRST_PORT deadline=$((SECONDS + PG_READY_SECONDS)) started=""
	while ((port <= PG_LAST_PORT)); do
		if port_in_use "$port"; then
			port=$((port + 1))
			continue
		fi
		rm -f "$PGDIR/postgres.log"
		log "starting postgres on 127.0.0.1:$port"
		as_owner "$user" "$bindir/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" \
			-o "-p $port" -W start >&2 || die "pg_ctl start failed"
		started=yes
		# Wait for readiness with a deadline; notice a server that died (e.g. port taken by a
		# process that bound it after our probe) and try the next port.
		local state=wait
		while ((SECONDS < deadline)); do
			if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_SUPERUSER" -d postgres -t 1; then
				state=ready
				break
			fi
			if grep -qE 'could not (bind|create any TCP/IP)' "$PGDIR/postgres.log" 2>/dev/null; then
				state=port_taken
				break
			fi
			# (a FATAL line alone is not enough: pg_isready itself logs "the database system is
			# starting up" while the server starts)
			if grep -qE '(FATAL|PANIC):' "$PGDIR/postgres.log" 2>/dev/null &&
				! as_owner "$user" "$bindir/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
				state=died
				break
			fi
			sleep 0.1
		done
		case $state in
		ready) break ;;
		port_taken)
			log "port $port was taken meanwhile, trying the next one"
			as_owner "$user" "$bindir/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
			started=""
			port=$((port + 1))
			;;
		*)
			cat "$PGDIR/postgres.log" >&2 2>/dev/null || true
			as_owner "$user" "$bindir/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
			if [[ $state == died ]]; then die "postgres failed to start (log above)"; fi
			die "postgres not ready on port $port after ${PG_READY_SECONDS}s (log above)"
			;;
		esac
	done
	flock -u 9 2>/dev/null || true
	exec 9>&-
	[[ -n $started ]] || die "pg-start: no free port in $PG_FIRST_PORT-$PG_LAST_PORT"

	local url="postgres://$PG_SUPERUSER@127.0.0.1:$port/postgres?sslmode=disable"
	printf '%s\n' "$url" >"$PGDIR/url"
	log "postgres ready on 127.0.0.1:$port (data, socket and log in $PGDIR)"
	printf '%s\n' "$url"
}

cmd_pg_stop() {
	(($# == 1)) || { usage; exit 2; }
	[[ -n $1 ]] || die "pg-stop: empty DIR"
	if [[ ! -e $1 ]]; then
		log "pg-stop: $1 does not exist, nothing to do"
		return 0
	fi
	PGDIR=$(cd "$1" && pwd -P)
	[[ -e $PGDIR/$MARKER ]] || die "pg-stop: $PGDIR was not made by testenv.sh pg-start; not removing it"

	if [[ -f $PGDIR/data/postmaster.pid ]]; then
		local user="" bindir
		((EUID != 0)) || user=$(stat -c %U "$PGDIR/data")
		if bindir=$(pg_bindir) &&
			as_owner "$user" "$bindir/pg_ctl" -D "$PGDIR/data" -m immediate stop >&2; then
			log "postgres in $PGDIR stopped"
		else
			# Last resort: the postmaster we started, by its pid.
			local pid
			pid=$(head -n 1 "$PGDIR/data/postmaster.pid" 2>/dev/null || true)
			if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) == postgres ]]; then
				log "pg_ctl stop failed; killing postmaster $pid"
				kill -QUIT "$pid" 2>/dev/null || true
				sleep 1
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
	fi
	rm -rf -- "$PGDIR"
}

# gobin prints the directory where go install puts binaries.
gobin() {
	local d
	d=$(go env GOBIN)
	[[ -n $d ]] || d="$(go env GOPATH | cut -d: -f1)/bin"
	printf '%s\n' "$d"
}

# stripe_mock_path prints the stripe-mock binary built from the pinned version, or fails. The
# version is read from the binary's build information, so an older stripe-mock is not taken for it.
stripe_mock_path() {
	command -v go >/dev/null 2>&1 || return 1
	local bin have
	bin="$(gobin)/stripe-mock"
	[[ -x $bin ]] || return 1
	have=$(go version -m "$bin" 2>/dev/null | awk -v m="$STRIPE_MOCK_MODULE" '$1 == "mod" && $2 == m { print $3 }')
	[[ $have == "$STRIPE_MOCK_VERSION" ]] || return 1
	printf '%s\n' "$bin"
}

# ensure_stripe_mock installs stripe-mock at the pinned version when missing (a Go program, so
# go install, not apt-get; root is not needed).
ensure_stripe_mock() {
	local bin
	if bin=$(stripe_mock_path); then
		log "stripe-mock $STRIPE_MOCK_VERSION present ($bin)"
		return 0
	fi
	if ! command -v go >/dev/null 2>&1; then
		is_ci && die "go not found, cannot install stripe-mock"
		log "warning: go not found, cannot install stripe-mock; the card payment tests will skip"
		return 0
	fi
	log "installing stripe-mock $STRIPE_MOCK_VERSION (go install $STRIPE_MOCK_MODULE@$STRIPE_MOCK_VERSION)"
	local t0=$SECONDS
	if ! go install "$STRIPE_MOCK_MODULE@$STRIPE_MOCK_VERSION" >&2; then
		is_ci && die "go install $STRIPE_MOCK_MODULE@$STRIPE_MOCK_VERSION failed"
		log "warning: go install stripe-mock failed; the card payment tests will skip"
		return 0
	fi
	if ! bin=$(stripe_mock_path); then
		is_ci && die "stripe-mock $STRIPE_MOCK_VERSION still missing from $(gobin) after go install"
		log "warning: stripe-mock $STRIPE_MOCK_VERSION still missing from $(gobin) after go install"
		return 0
	fi
	log "installed stripe-mock $STRIPE_MOCK_VERSION in $((SECONDS - t0))s ($bin)"
}

cmd_stripe_mock_start() {
	(($# == 1)) || { usage; exit 2; }
	[[ -n $1 ]] || die "stripe-mock-start: empty DIR"
	local bin
	bin=$(stripe_mock_path) || die "stripe-mock $STRIPE_MOCK_VERSION not found; run: testenv.sh ensure-tools"
	mkdir -p "$1"
	local dir
	dir=$(cd "$1" && pwd -P)
	[[ ! -e $dir/pid ]] || die "stripe-mock-start: $dir/pid already exists; use a fresh directory"
	: >"$dir/$MARKER" # lets stripe-mock-stop know it may delete this directory
	local sock=$dir/https.sock
	((${#sock} <= 107)) || die "stripe-mock-start: DIR path too long for a unix socket: $dir"

	# The same port lock as pg-start: two starts at once do not pick the same free port.
	local lock=${TMPDIR:-/tmp}/comptoir-testenv-port.lock
	[[ -e $lock ]] || (umask 000 && : >>"$lock") 2>/dev/null || true
	if [[ -r $lock ]] && exec 9<"$lock"; then
		flock -w 120 9 || die "stripe-mock-start: could not take the port lock $lock"
	else
		log "warning: cannot open $lock; starting without the port lock"
	fi

	local port=$STRIPE_MOCK_FIRST_PORT started="" pid state deadline
	while ((port <= STRIPE_MOCK_LAST_PORT)); do
		if port_in_use "$port"; then
			port=$((port + 1))
			continue
		fi
		log "starting stripe-mock on 127.0.0.1:$port"
		# -http-addr listens on loopback only. stripe-mock also opens HTTPS on :12112, every
		# interface, unless told where: a unix socket in DIR keeps it off the network and lets
		# several runs coexist. Its output goes to a file so that it never holds our stdout (the
		# caller reads the URL from it) or the port lock (fd 9).
		"$bin" -http-addr "127.0.0.1:$port" -https-unix "$sock" </dev/null >"$dir/stripe-mock.log" 2>&1 9>&- &
		pid=$!
		printf '%s\n' "$pid" >"$dir/pid"
		state=starting
		deadline=$((SECONDS + STRIPE_MOCK_READY_SECONDS))
		while ((SECONDS < deadline)); do
			if ! kill -0 "$pid" 2>/dev/null; then
				if grep -q 'address already in use' "$dir/stripe-mock.log" 2>/dev/null; then
					state=port_taken
				else
					state=died
				fi
				break
			fi
			if grep -q "Listening for HTTP at address: 127.0.0.1:$port" "$dir/stripe-mock.log" 2>/dev/null; then
				state=ready
				break
			fi
			sleep 0.1
		done
		case $state in
		ready)
			started=yes
			break
			;;
		port_taken)
			log "port $port was taken meanwhile, trying the next one"
			rm -f "$dir/pid" "$sock"
			port=$((port + 1))
			;;
		died)
			cat "$dir/stripe-mock.log" >&2 2>/dev/null || true
			die "stripe-mock failed to start (log above)"
			;;
		*)
			kill -KILL "$pid" 2>/dev/null || true
			cat "$dir/stripe-mock.log" >&2 2>/dev/null || true
			die "stripe-mock not ready on port $port after ${STRIPE_MOCK_READY_SECONDS}s (log above)"
			;;
		esac
	done
	flock -u 9 2>/dev/null || true
	exec 9>&-
	[[ -n $started ]] || die "stripe-mock-start: no free port in $STRIPE_MOCK_FIRST_PORT-$STRIPE_MOCK_LAST_PORT"

	local url="http://127.0.0.1:$port"
	printf '%s\n' "$url" >"$dir/url"
	log "stripe-mock $STRIPE_MOCK_VERSION ready at $url (pid $pid, log in $dir)"
	printf '%s\n' "$url"
}

cmd_stripe_mock_stop() {
	(($# == 1)) || { usage; exit 2; }
	[[ -n $1 ]] || die "stripe-mock-stop: empty DIR"
	if [[ ! -e $1 ]]; then
		log "stripe-mock-stop: $1 does not exist, nothing to do"
		return 0
	fi
	local dir pid i
	dir=$(cd "$1" && pwd -P)
	[[ -e $dir/$MARKER ]] || die "stripe-mock-stop: $dir was not made by testenv.sh stripe-mock-start; not removing it"
	pid=$(head -n 1 "$dir/pid" 2>/dev/null || true)
	# Only the process we started, by its pid, and only if it still is stripe-mock.
	if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) == stripe-mock ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			# Exited but not yet reaped (its parent, testenv.sh, is gone): done too.
			[[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]] || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		log "stripe-mock $pid stopped"
	fi
	rm -rf -- "$dir"
}

main() {
	local cmd=${1:-}
	(($# == 0)) || shift
	case $cmd in
	ensure-tools) cmd_ensure_tools "$@" ;;
	pg-start) cmd_pg_start "$@" ;;
	pg-stop) cmd_pg_stop "$@" ;;
	pg-bindir) pg_bindir || die "PostgreSQL server binaries not found" ;;
	stripe-mock-start) cmd_stripe_mock_start "$@" ;;
	stripe-mock-stop) cmd_stripe_mock_stop "$@" ;;
	stripe-mock-path) stripe_mock_path || die "stripe-mock $STRIPE_MOCK_VERSION not found; run: testenv.sh ensure-tools" ;;
	-h | --help | help)
		usage
		;;
	*)
		usage
		exit 2
		;;
	esac
}

main "$@"
