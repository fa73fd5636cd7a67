SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

STATICCHECK_VERSION := v0.8.2

.PHONY: test lint run build

# The whole suite on SQLite then on a throw-away PostgreSQL cluster (see scripts/test.sh).
# Extra go test flags: make test GOTESTFLAGS='-run X' PKGS=./internal/...
test:
	bash scripts/test.sh

lint:
	go vet ./...
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
