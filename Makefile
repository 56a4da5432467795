# Two commands for a fresh machine (see README.md):
#   make run    installs Herald into .venv and starts it (embedded PostgreSQL unless HERALD_DATABASE_URL is set)
#   make test   installs Herald with its test tools into .venv, then lints and runs the whole test suite
# Needs Python 3.11 (the embedded PostgreSQL ships wheels for 3.11 only).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run demo test lint protos-check protos-release bench-locust bench-ingest bench-calls bench-sender bench-campaign bench-send-cost bench-push bench-webhooks bench-import bench-import-pg-cost bench-import-cpu bench-upsert bench-grpc-dispatch bench-trigger-cost bench-segment bench-automation protos

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

# The editable install also compiles the Cython extensions in place: redo it when their sources change.
$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py sender_ext/_core.pyx kernel/profiles/_line_direct.py \
		plugins/apns/_framer.pyx
	$(BIN)/pip install --quiet -e .
	touch $@

# The test tools, plus the example out-of-tree channel plugin, installed as a third party would install it.
$(VENV)/.installed-test: $(VENV)/.installed tests/example_plugin/pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]' -e ./tests/example_plugin
	touch $@

run: $(VENV)/.installed
	$(BIN)/herald serve

demo: $(VENV)/.installed
	$(BIN)/herald demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# buf, from npm (node is the only prerequisite), pinned, cached in a gitignored folder.
BUF_VERSION := 1.75.0
BUF := .tools/buf-$(BUF_VERSION)/node_modules/.bin/buf
# The contract as last released: `buf breaking` compares the protos with it (see README, "The contract").
PROTO_BASELINE := proto/baseline/herald-v1.binpb

$(BUF):
	npm install --silent --no-save --no-audit --no-fund --prefix .tools/buf-$(BUF_VERSION) @bufbuild/buf@$(BUF_VERSION)

# The protos follow buf's STANDARD lint rules (exceptions justified in buf.yaml) and break no client of
# the released contract.
protos-check: $(BUF)
	$(BUF) lint
	$(BUF) breaking --against $(PROTO_BASELINE)

# Releases the contract as it stands (run after `make test` passed): later changes are checked against it.
protos-release: $(BUF)
	$(BUF) lint
	$(BUF) build --exclude-source-info -o $(PROTO_BASELINE)

# The first pass tests the sender core's and the import lines' two implementations side by side
# (tests/sender and tests/test_import_lines.py fail, not skip, when the compiled one cannot be imported,
# unless HERALD_NO_EXTENSIONS=1) and the rest on the compiled one; the second runs everything that goes
# through the sender core (sending, bulk and transactional), the import lines and the APNs request framer
# on the pure-Python twins, as a machine without a C compiler would run it.
test: $(VENV)/.installed-test lint protos-check
	$(BIN)/pytest
	HERALD_NO_EXTENSIONS=1 $(BIN)/pytest -q tests/sender tests/delivery tests/test_transactional.py tests/test_import_lines.py \
		tests/plugins/test_apns.py tests/plugins/test_apns_h2.py tests/plugins/test_apns_framer.py

protos: $(VENV)/.installed-test
	$(BIN)/python proto/generate.py

bench-locust: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run_locust.py

bench-ingest: $(VENV)/.installed-test
	$(BIN)/python benchmarks/ingest_bench.py

bench-calls: $(VENV)/.installed-test
	$(BIN)/python benchmarks/single_call_bench.py
	$(BIN)/python benchmarks/single_call_bench.py --events-per-call 1000 --rate 32

bench-sender: $(VENV)/.installed-test
	$(BIN)/python benchmarks/sender_bench.py

bench-campaign: $(VENV)/.installed-test
	$(BIN)/python benchmarks/campaign_bench.py

bench-automation: $(VENV)/.installed-test
	$(BIN)/python benchmarks/automation_bench.py

bench-send-cost: $(VENV)/.installed-test
	$(BIN)/python benchmarks/send_cost_bench.py

bench-import: $(VENV)/.installed-test
	$(BIN)/python benchmarks/import_bench.py

bench-import-pg-cost: $(VENV)/.installed-test
	$(BIN)/python benchmarks/import_pg_cost.py

bench-import-cpu: $(VENV)/.installed-test
	$(BIN)/python benchmarks/import_cpu_bench.py

bench-upsert: $(VENV)/.installed-test
	$(BIN)/python benchmarks/upsert_bench.py

bench-grpc-dispatch: $(VENV)/.installed-test
	$(BIN)/python benchmarks/grpc_dispatch_bench.py

bench-trigger-cost: $(VENV)/.installed-test
	$(BIN)/python benchmarks/profile_trigger_cost.py

bench-push: $(VENV)/.installed-test
	$(BIN)/python benchmarks/push_bench.py

bench-webhooks: $(VENV)/.installed-test
	$(BIN)/python benchmarks/webhook_load_bench.py

bench-segment: $(VENV)/.installed-test
	$(BIN)/python benchmarks/segment_bench.py
