# Bulwark's commands. `make test` is the one CI runs.

SHELL := /bin/bash
GO ?= go

# Binaries of the pinned Consul and Vault releases, built and cached on first
# use by tools/servers/ensure.sh.
CONSUL_BIN = $(shell tools/servers/ensure.sh consul)
VAULT_BIN = $(shell tools/servers/ensure.sh vault)

.PHONY: test test-compose test-unit servers vet bench

## test: run every test, starting real Consul, Vault and Redis on loopback,
## then the compose suite where a Docker engine responds.
test: servers
	@command -v redis-server >/dev/null || { \
		echo "redis-server is missing: install Debian's redis-server package" >&2; exit 1; }
	BULWARK_CONSUL_BIN="$(CONSUL_BIN)" BULWARK_VAULT_BIN="$(VAULT_BIN)" \
		$(GO) test -count=1 -timeout 40m ./...
	@if out=$$(docker info --format '{{.ServerVersion}}' 2>&1); then \
		$(MAKE) --no-print-directory test-compose; \
	else \
		echo "SKIPPED the compose suite (test/composetc): no Docker engine responds to docker info: $$(echo "$$out" | grep . | head -n 1)"; \
	fi

## test-compose: run only the compose suite (test/composetc, its own Go
## module): build the images, start docker-compose.yml with testcontainers-go,
## run the order flow and bulwark verify, remove the stack. Needs Docker.
test-compose:
	cd test/composetc && $(GO) vet . && $(GO) test -count=1 -timeout 30m -v .

## test-unit: run only the tests that need no server (go test -short).
test-unit:
	$(GO) test -short -count=1 ./...

## servers: build or find Consul v1.16.3 and Vault v1.14.8.
servers:
	@tools/servers/ensure.sh consul >/dev/null
	@tools/servers/ensure.sh vault >/dev/null

## vet: run go vet and check formatting.
vet:
	$(GO) vet ./...
	@test -z "$$(git ls-files -z '*.go' | xargs -0 gofmt -l)" || { git ls-files -z '*.go' | xargs -0 gofmt -l; echo "run gofmt -w on the files above" >&2; exit 1; }

## bench: run the benchmarks of the platform packages.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./platform/...

.PHONY: up down clean status

## up: start the secured stack: in Docker Compose where a Docker engine
## responds, else as local processes (BULWARK_MODE=native|compose overrides).
up:
	@tools/stack/stack.sh up

## down: stop the stack and keep its data.
down:
	@tools/stack/stack.sh down

## clean: stop the stack and remove its data and credentials.
clean:
	@tools/stack/stack.sh clean

## status: print one line per component of the stack.
status:
	@tools/stack/stack.sh status

.PHONY: images

## images: build the compose stack's images offline from this checkout.
images:
	@tools/stack/compose.sh images
