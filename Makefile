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

fuzz:
	$(GO) test ./protocol -run '^$$' -fuzz FuzzDecode -fuzztime 30s
