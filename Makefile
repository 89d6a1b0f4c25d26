# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck contracts unit bench sysdeps clean

$(STAMP): pyproject.toml src/iotsec/core/_cbor_c.c src/iotsec/core/suit/_suit_c.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# System tools that the tests drive for real (nft, ip, openssl, curl, valgrind for the C extension). Installed when root and missing.
sysdeps:
	@missing=""; \
	for t in nft:nftables ip:iproute2 openssl:openssl curl:curl busybox:busybox lldpd:lldpd valgrind:valgrind; do \
	  command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages:$$missing (install them, or run as root)"; fi; \
	fi

demo: $(STAMP)
	$(BIN)/iotsec demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) sysdeps
	$(BIN)/pytest -n 2 -q

test: lint typecheck contracts unit

bench: $(STAMP)
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
