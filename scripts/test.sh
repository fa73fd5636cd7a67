#!/usr/bin/env bash
# test.sh — everything `make test` does:
#   tools (apt-get / go install when missing) → throw-away PostgreSQL cluster → stripe-mock →
#   gofmt → go vet → staticcheck → go test on SQLite → go test on PostgreSQL → summary. Stops at the first
#   failure; the cluster and stripe-mock are always stopped and removed.
#
# Environment:
#   GOTESTFLAGS  extra go test flags, e.g. GOTESTFLAGS='-run TestCheckout -v'
#   PKGS         packages to test (default ./...), e.g. PKGS='./internal/catalog ./internal/cart'
#   CI=true      a missing tool is a failure, never a skip
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly testenv=scripts/testenv.sh

is_ci() { [[ ${CI:-} == true || ${CI:-} == 1 ]]; }
stage=setup
say() {
	stage=$*
	printf '\n== %s ==\n' "$*" >&2
}
fail() { printf 'test: FAIL: %s\n' "$*" >&2; exit 1; }
warn() { printf 'test: warning: %s\n' "$*" >&2; }

start=$SECONDS
command -v go >/dev/null 2>&1 || fail "go not found in PATH"

# word-split on purpose: both hold several words
read -r -a pkgs <<<"${PKGS:-./...}"
((${#pkgs[@]} > 0)) || pkgs=(./...)
read -r -a extra <<<"${GOTESTFLAGS:-}"

say "tools"
bash "$testenv" ensure-tools

skipped=()
if chromium=$(command -v chromium 2>/dev/null) || chromium=$( [[ -x /usr/bin/chromium ]] && echo /usr/bin/chromium ); then
	export COMPTOIR_CHROMIUM=$chromium
else
	is_ci && fail "chromium missing (CI=true)"
	warn "chromium missing: browser tests will skip"
	skipped+=(chromium)
fi
if ! command -v pdftotext >/dev/null 2>&1; then
	is_ci && fail "pdftotext (poppler-utils) missing (CI=true)"
	warn "pdftotext missing"
	skipped+=(pdftotext)
fi
have_stripe_mock=yes
if ! bash "$testenv" stripe-mock-path >/dev/null 2>&1; then
	is_ci && fail "stripe-mock missing (CI=true)"
	warn "stripe-mock missing: the card payment tests will skip"
	have_stripe_mock=""
	skipped+=(stripe-mock)
fi
have_pg=yes
if ! bash "$testenv" pg-bindir >/dev/null 2>&1; then
	is_ci && fail "PostgreSQL server binaries missing (CI=true)"
	warn "PostgreSQL server binaries missing: the postgres pass will be skipped"
	have_pg=""
	skipped+=("postgres pass")
fi

# run_job runs a long command in its own process group and waits for it, so that a TERM or INT
# sent to this script alone is handled at once (bash defers traps while a foreground command runs)
# and reaches go test and the test binaries it started.
child=""
run_job() {
	set -m
	"$@" &
	child=$!
	set +m
	local rc=0
	wait "$child" || rc=$?
	child=""
	return "$rc"
}
on_signal() { # SIGNAL EXIT_CODE: pass the signal on to the running job, then exit
	if [[ -n $child ]]; then
		kill -"$1" -- "-$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
		child=""
	fi
	exit "$2"
}

pgdir=""
smdir=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $smdir ]]; then
		bash "$testenv" stripe-mock-stop "$smdir" || rc=1
	fi
	if [[ -n $pgdir ]]; then
		bash "$testenv" pg-stop "$pgdir" || rc=1
	fi
	if ((rc != 0)); then
		printf '\ntest: FAILED at "%s" (exit %d) after %ds\n' "$stage" "$rc" "$((SECONDS - start))" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

if [[ -n $have_pg ]]; then
	say "postgres cluster"
	pgdir=$(mktemp -d "${TMPDIR:-/tmp}/comptoir-pg.XXXXXX")
	pgurl=$(bash "$testenv" pg-start "$pgdir")
	printf '%s\n' "$pgurl" >&2
fi

if [[ -n $have_stripe_mock ]]; then
	say "stripe-mock"
	smdir=$(mktemp -d "${TMPDIR:-/tmp}/comptoir-stripe-mock.XXXXXX")
	# Both go test runs talk to it; cardpaytest.StripeURL reads this variable.
	COMPTOIR_TEST_STRIPE_URL=$(bash "$testenv" stripe-mock-start "$smdir")
	export COMPTOIR_TEST_STRIPE_URL
	printf '%s\n' "$COMPTOIR_TEST_STRIPE_URL" >&2
fi

say "gofmt"
gofiles=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	while IFS= read -r -d '' f; do
		[[ -f $f ]] && gofiles+=("$f")
	done < <(git ls-files -z -- '*.go' ':!:vendor/*' ':!:*/testdata/*' ':!:testdata/*')
else
	while IFS= read -r -d '' f; do
		gofiles+=("$f")
	done < <(find . -name '*.go' -not -path './vendor/*' -not -path '*/testdata/*' -print0)
fi
if ((${#gofiles[@]} > 0)); then
	unformatted=$(gofmt -l "${gofiles[@]}")
	if [[ -n $unformatted ]]; then
		printf '%s\n' "$unformatted" >&2
		fail "files above are not gofmt-formatted (run: gofmt -w <file>)"
	fi
fi
echo "${#gofiles[@]} tracked .go files formatted" >&2

say "go vet"
run_job go vet ./...

say "staticcheck"
run_job make --no-print-directory staticcheck

say "go test on sqlite"
COMPTOIR_TEST_ENGINE=sqlite \
	run_job go test -count=1 -timeout 20m "${extra[@]}" "${pkgs[@]}"

# A short pass of every fuzz target, once (on SQLite): 3 s each, under a
# minute of fuzzing in all. make fuzz FUZZTIME=5m runs them longer.
if [[ ${PKGS:-./...} == ./... && -z ${GOTESTFLAGS:-} ]]; then
	say "fuzz (short)"
	COMPTOIR_TEST_ENGINE=sqlite FUZZTIME=3s run_job bash scripts/fuzz.sh
fi

if [[ -n $have_pg ]]; then
	say "go test on postgres"
	COMPTOIR_TEST_ENGINE=postgres COMPTOIR_TEST_DATABASE_URL=$pgurl \
		run_job go test -count=1 -timeout 20m "${extra[@]}" "${pkgs[@]}"
fi

# Stop stripe-mock and the cluster now so that the summary is the last line printed.
if [[ -n $smdir ]]; then
	say "stopping stripe-mock"
	bash "$testenv" stripe-mock-stop "$smdir"
	smdir=""
fi
if [[ -n $pgdir ]]; then
	say "stopping postgres cluster"
	bash "$testenv" pg-stop "$pgdir"
	pgdir=""
fi

summary="test: OK: gofmt, go vet, staticcheck, go test on sqlite"
[[ -z $have_pg ]] || summary+=" and postgres"
summary+=" passed in $((SECONDS - start))s"
((${#skipped[@]} == 0)) || summary+=" (missing: ${skipped[*]})"
echo
echo "$summary"
