# landflood: `make demo` sets up everything and shows the sample city; `make test` sets up and runs the tests.
VENV      := .venv
PY        := $(VENV)/bin/python
LANDFLOOD := $(VENV)/bin/landflood

.PHONY: help setup system-packages venv db demo demo-data lint test test-fast lock clean

help:
	@echo "make demo   set up (system packages, .venv, managed PostGIS), load and model the sample city, serve it"
	@echo "make demo-data  the same without serving"
	@echo "make test   set up, run the gates (make lint) and the test suite"
	@echo "make test-fast  the same without the slow tests (extra clusters, the browser)"
	@echo "make lint   the gates only: ruff, mypy, the import contracts (seconds)"
	@echo "make setup  only the set-up steps; each is skipped when already done"
	@echo "make soak   the long fault runs: a restart under load for 60 s, a load killed at 20 moments"
	@echo "make fuzz   generated requests against /openapi, FUZZ_CASES=50000 random ones per role"
	@echo "make lock   re-resolve requirements.lock from pyproject.toml (needs network)"
	@echo "make clean  delete the managed cluster, .venv and var/"

setup: system-packages venv db

system-packages:
	@tools/setup-system

venv: $(VENV)/.installed
	@echo "setup: .venv has the locked dependencies"

# Rebuilt only when the lock or the project's metadata change; otherwise skipped.
$(VENV)/.installed: requirements.lock pyproject.toml tools/make-venv tools/find-python
	@tools/make-venv
	@touch $@

db: venv
	@$(LANDFLOOD) db start
	@$(LANDFLOOD) db migrate

# The sample city (written once; README.txt is its last file), loaded through the real commands.
# Each load is repeatable: a second `make demo` reports everything unchanged.
SAMPLE := var/sample

demo: demo-data
	@$(LANDFLOOD) serve --host $(DEMO_HOST) --port $(DEMO_PORT)

DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 5000
# Two storms are modelled once (a design storm and the observed one of 30 September 2025) so that
# the flood-risk map and the parcels' flood_risk have something to show.
demo-data: setup
	@if [ -f $(SAMPLE)/README.txt ]; then echo "demo: the sample is already in $(SAMPLE)"; \
	else $(LANDFLOOD) sample --out $(SAMPLE) --overwrite; fi
	@$(LANDFLOOD) etl admin $(SAMPLE)/admin_units.geojson
	@$(LANDFLOOD) etl parcels $(SAMPLE)/parcels.gpkg
	@$(LANDFLOOD) etl waterlogging $(SAMPLE)/waterlogging_points.csv
	@$(LANDFLOOD) etl waterlogging $(SAMPLE)/flood_events.csv
	@$(LANDFLOOD) etl rainfall $(SAMPLE)/rainfall.csv
	@$(LANDFLOOD) etl raster $(SAMPLE)/dem.tif --kind dem
	@$(LANDFLOOD) flood run --scenario design-100mm-2h --if-missing
	@$(LANDFLOOD) flood run --scenario observed-2025-09-30 --if-missing
	@$(LANDFLOOD) db summary

# The gates: each fails with the file and line (CONTRIBUTING.md says what each checks).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

test: setup lint
	$(PY) -m pytest

# The fast lane: no extra PostgreSQL clusters (outages, relocation) and no Chromium.
test-fast: setup lint
	$(PY) -m pytest -m "not cluster and not browser"

lock:
	$(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.12 \
		--generate-hashes -o requirements.lock

clean:
	-@[ -x $(LANDFLOOD) ] && $(LANDFLOOD) db destroy --yes
	rm -rf $(VENV) var

# landflood etl parcels against ogr2ogr on 1,000,000 sample parcels (see benchmarks/README.md).
.PHONY: bench-etl
bench-etl: setup
	$(PY) benchmarks/etl/run.py

# Depression filling against pysheds (and RichDEM) on 1,000², 4,000² and 10,000² DEMs (see benchmarks/README.md).
.PHONY: bench-flood
bench-flood: setup
	$(PY) benchmarks/flood/run.py

# landflood's OGC API against tipg and pygeoapi on 1,000,000 sample parcels (see benchmarks/README.md).
.PHONY: bench-api wrk
bench-api: setup wrk
	$(PY) benchmarks/api/run.py

# 64 keep-alive clients for 60 s on a mix of bbox pages, features, tiles and EDR queries, against
# gunicorn serving the sample city (see benchmarks/README.md).
.PHONY: bench-load
bench-load: setup wrk
	$(PY) benchmarks/load/run.py

# wrk, the load generator of bench-api and bench-load, from the distribution's packages.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		echo "installing wrk (the load generator)"; \
		if [ "$$(id -u)" -eq 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; \
		else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; fi; }

# Officer search (names, addresses, ID numbers) against the naive ILIKE scan on 1,000,000 parcels (see benchmarks/README.md).
.PHONY: bench-search
bench-search: setup
	$(PY) benchmarks/search/run.py

# The web maps against a folium map with the parcels embedded, in headless Chromium (see benchmarks/README.md).
.PHONY: bench-maps
bench-maps: setup
	$(PY) benchmarks/maps/run.py

# Generated requests against the app's own /openapi with many more random cases than `make test`
# sends (tests/api/test_generated_requests.py): make fuzz FUZZ_CASES=200000.
FUZZ_CASES ?= 50000
.PHONY: fuzz
fuzz: setup
	FUZZ_CASES=$(FUZZ_CASES) $(PY) -m pytest tests/api/test_generated_requests.py -q -p no:cacheprovider

# The long fault runs: PostgreSQL restarted under 8 clients for 60 s, and an ETL load killed at
# 20 random moments (make test runs shorter versions of both).
.PHONY: soak
soak: setup
	LANDFLOOD_SOAK_SECONDS=60 LANDFLOOD_KILLS=20 $(PY) -m pytest tests/api/test_restart_under_load.py \
		tests/etl/test_kills.py -q -s -p no:cacheprovider
