SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

STATICCHECK_VERSION := v0.8.2

.PHONY: test lint staticcheck run build bench fuzz

# The whole suite on SQLite then on a throw-away PostgreSQL cluster (see scripts/test.sh).
# Extra go test flags: make test GOTESTFLAGS='-run X' PKGS=./internal/...
test:
	bash scripts/test.sh

# Every fuzz target for FUZZTIME each (make test runs them 3 s each); FUZZ='regexp' picks targets.
# Crashers found are saved under the package's testdata/fuzz/ and replayed by go test from then on.
FUZZTIME ?= 5m
FUZZ ?= .
fuzz:
	FUZZTIME='$(FUZZTIME)' FUZZ='$(FUZZ)' bash scripts/fuzz.sh

lint:
	go vet ./...
	@$(MAKE) --no-print-directory staticcheck

# staticcheck at its pinned version, installed with go install when missing (make test runs it too).
staticcheck:
	@gobin="$$(go env GOBIN)"; [[ -n $$gobin ]] || gobin="$$(go env GOPATH | cut -d: -f1)/bin"; \
	sc="$$gobin/staticcheck"; \
	have="$$( [[ -x $$sc ]] && go version -m "$$sc" 2>/dev/null | awk '$$1 == "mod" && $$2 == "honnef.co/go/tools" { print $$3 }' || true)"; \
	if [[ $$have != "$(STATICCHECK_VERSION)" ]]; then \
		echo "installing staticcheck $(STATICCHECK_VERSION)$${have:+ (found $$have)}"; \
		go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi; \
	echo "$$sc ./..."; \
	"$$sc" ./...

run:
	go run ./cmd/comptoir serve --demo

build:
	go build -o bin/comptoir ./cmd/comptoir

# Performance against what the machine can do (cmd/comptoir-bench): SQLite, then a throw-away
# PostgreSQL, each loaded with a generated store, comptoir serve driven over loopback HTTP; prints a
# table, writes bench-results.json and bench-results.svg. SCALE=tiny|small|medium|full (default full:
# 100k customers, 1M orders); SCALE=small is a quick look. More flags: make bench BENCHFLAGS='-h'.
# The work directory (databases, logs, the cluster) is removed afterwards, whatever happens.
SCALE ?= full
BENCHFLAGS ?=
bench:
	@work="$$(mktemp -d "$${TMPDIR:-/tmp}/comptoir-bench.XXXXXX")"; \
	chmod 755 "$$work"; \
	trap 'bash scripts/testenv.sh pg-stop "$$work/run/pg" >/dev/null 2>&1 || true; rm -rf "$$work"' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "bench: building comptoir and comptoir-bench" >&2; \
	go build -o "$$work/comptoir" ./cmd/comptoir; \
	go build -o "$$work/comptoir-bench" ./cmd/comptoir-bench; \
	"$$work/comptoir-bench" --scale "$(SCALE)" --comptoir "$$work/comptoir" --work-dir "$$work/run" $(BENCHFLAGS)
