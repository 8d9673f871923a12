# landflood: `make demo` sets up everything and shows the sample city; `make test` sets up and runs the tests.
VENV      := .venv
PY        := $(VENV)/bin/python
LANDFLOOD := $(VENV)/bin/landflood

.PHONY: help setup system-packages venv db demo test lock clean

help:
	@echo "make demo   set up (system packages, .venv, managed PostGIS) and show the database"
	@echo "make test   set up and run the test suite"
	@echo "make setup  only the set-up steps; each is skipped when already done"
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

demo: setup
	@$(LANDFLOOD) db summary

test: setup
	$(PY) -m pytest

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
	@command -v ogr2ogr >/dev/null 2>&1 || { \
		echo "bench-etl: installing gdal-bin (ogr2ogr)"; \
		if [ "$$(id -u)" -eq 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gdal-bin; \
		else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q gdal-bin; fi; }
	$(PY) benchmarks/etl/run.py
