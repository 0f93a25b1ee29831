# ptzone: "make test" installs what the tests need and runs the whole suite.
#
#   make test    install missing test dependencies (Debian packages, when run
#                as root), then go test -race ./... with PostgreSQL and the
#                interop tools; with CI=true a missing tool fails its test
#   make fuzz    run every fuzz target for FUZZTIME (default 20s) each
#   make bench   Go benchmarks of the store (PTZONE_BENCH_DOMAINS, default 20000)
#   make bench-store N=2000000
#                bench/store.sh: import and stream N domains on both backends
#   make bench-sweep N=100000
#                bench/sweep.sh: one delegation sweep of N domains over
#                2,000 lab name server addresses with 20 ms latency
#   make lint    gofmt, go vet
#   make build   the ptzone binary in ./ptzone (BIN=PATH elsewhere): static,
#                position-independent, stripped, with the source revision it
#                was built from (ptzone version)
#   make deb     the Debian package in ./dist (OUT=DIR elsewhere): the binary,
#                the systemd unit, manual pages, docs and examples, made with
#                dpkg-deb by deploy/debian/build.sh; lintian should pass it

GO       ?= go
FUZZTIME ?= 20s
N        ?= 2000000
BIN      ?= ptzone
OUT      ?= dist

# The toolchain stamps the source revision into the binary, but not in a
# git worktree (its .git is a file, which Go does not take for a
# checkout): the same facts go in with -X too, and the toolchain's stamp
# wins where there is one (internal/buildinfo).
BUILDINFO    = github.com/ptzone/ptzone/internal/buildinfo
GIT_REVISION = $(shell git rev-parse HEAD 2>/dev/null)
GIT_TIME     = $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
GIT_MODIFIED = $(shell if [ -n "$$(git status --porcelain 2>/dev/null)" ]; then echo true; else echo false; fi)
LDFLAGS      = -s -w -X $(BUILDINFO).revision=$(GIT_REVISION) -X $(BUILDINFO).commitTime=$(GIT_TIME) \
               -X $(BUILDINFO).modified=$(GIT_MODIFIED)

.PHONY: test deps fuzz bench bench-store bench-sweep lint build deb

test: deps
	$(GO) test -race -timeout 30m ./...

deps:
	@./.ci/install-deps

fuzz:
	@./.ci/fuzz $(FUZZTIME)

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x ./store/...

bench-store: deps
	bench/store.sh $(N)

bench-sweep:
	bench/sweep.sh $(if $(filter command line,$(origin N)),$(N),100000)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Static (no cgo: no libc to depend on), position-independent (Debian's
# hardening), paths trimmed (the same binary from any checkout).
build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -trimpath -buildmode=pie -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ptzone

deb:
	@mkdir -p $(OUT)
	$(MAKE) --no-print-directory build BIN=$(abspath $(OUT))/ptzone.bin
	deploy/debian/build.sh $(abspath $(OUT)) $(abspath $(OUT))/ptzone.bin
	@rm -f $(OUT)/ptzone.bin
