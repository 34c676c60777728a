# The one test command: `make test` (README). It runs the Go tests with -race,
# the JS client's tests, the browser tests in headless Chromium and the interop
# tests against rsocket-go and rsocket-js.
GO ?= go
NPM ?= npm

.PHONY: test test-go test-reactor test-js test-browser test-interop build bench fuzz

test: test-go test-reactor test-js test-browser test-interop

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

node_modules/.package-lock.json: package-lock.json
	$(NPM) ci --no-audit --no-fund

test-js: node_modules/.package-lock.json
	$(NPM) test

test-browser: node_modules/.package-lock.json
	$(NPM) run test:browser
	$(NPM) run test:demo

test-reactor:
	cd reactor && $(GO) vet ./... && $(GO) test -race -count=1 ./...

test-interop: node_modules/.package-lock.json
	cd interop && $(GO) vet ./... && $(GO) test -race -count=1 ./...

build:
	$(NPM) run build
	$(GO) build -o bin/sluice ./cmd/sluice

bench:
	cd interop && $(GO) run ./cmd/compare

# Every fuzz target for FUZZTIME each (seeded with the golden vectors).
FUZZTIME ?= 20s
FUZZ_TARGETS = ./protocol:FuzzDecode ./protocol/metadata:FuzzComposite ./protocol/metadata:FuzzRoutes \
	./protocol/metadata:FuzzAuth ./protocol/metadata:FuzzMIMETypes ./internal/fragment:FuzzAdd \
	./internal/fragment:FuzzRoundTrip ./transport/tcp:FuzzReadFrame ./internal/session:FuzzServerInput
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn"; $(GO) test $$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) || exit 1; done
