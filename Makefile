# Herald. `make run` starts a server on ./herald.db; `make test` runs every test.
GO ?= go
export CGO_ENABLED ?= 0
ADDR ?= 127.0.0.1:8080

.PHONY: run demo build test generate check-generated vet bench bench-http clean

run: build
	./herald serve --addr $(ADDR) --database herald.db --log-format text

demo: build
	./herald serve --addr $(ADDR) --database herald.db --log-format text --demo

build: generate
	$(GO) build -o herald ./cmd/herald

generate:
	$(GO) tool templ generate -log-level error

# Fails when the committed *_templ.go files differ from what templ generates
# from the .templ sources (the files are regenerated in place; commit them).
check-generated:
	@before=$$(cat templates/*_templ.go | sha256sum); \
	$(GO) tool templ generate -log-level error; \
	after=$$(cat templates/*_templ.go | sha256sum); \
	if [ "$$before" != "$$after" ]; then \
		echo "generated templ files were stale; they have been regenerated: review and commit templates/*_templ.go"; exit 1; \
	fi

vet:
	$(GO) vet ./...

# The race detector needs cgo and a C compiler; without one the tests still run.
RACE := $(shell command -v gcc >/dev/null 2>&1 && echo -race)

# testsum runs go test itself, so its exit status is not lost in a pipe, and
# ends with the count of tests run, passed, failed and skipped (a skipped
# browser test is named there).
test: check-generated vet
	@[ -n "$(RACE)" ] || echo "warning: no C compiler found, running tests without -race"
	CGO_ENABLED=$(if $(RACE),1,0) $(GO) run ./cmd/internal/testsum -- $(GO) test $(RACE) -count=1 -timeout 40m -json ./...

# Go micro-benchmarks (snapshot serving, rendering).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The HTTP load comparison from the README (needs wrk).
bench-http:
	$(GO) run ./cmd/herald-bench

clean:
	rm -f herald herald-bench
