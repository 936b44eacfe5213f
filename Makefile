# Two commands on a fresh machine with Python 3.11 and make:
#   make demo   set up, then run the whole job on the built-in demo data
#   make test   set up, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= demo_out

.PHONY: demo test setup browser clean bench bench-parts

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,fiona,cluster,notebooks,layers,dask,postgis]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/gis demo --out $(OUT)

# system packages first (scripts/system_deps.sh: installs them as root on
# Debian/Ubuntu, else prints the apt-get command), then PostGIS for the tests
test: setup
	GIS_TEST_DB="$$(bash scripts/system_deps.sh)" && export GIS_TEST_DB && \
	  $(BIN)/ruff check gis tests scripts && \
	  $(BIN)/python -m pytest -n 2 -q

# the whole job (gis demo --scale N) at 1, 2, 4, 10x: time, memory, stage times, growth exponents
bench: setup
	$(BIN)/python scripts/bench_pipeline.py --scales 1 2 4 10

# benchmarks of parts: time, peak memory and the ratio against a plain baseline
bench-parts: setup
	$(BIN)/python scripts/bench_density.py
	$(BIN)/python scripts/bench_renewal.py --scales 1 10 100
	$(BIN)/python scripts/bench_maps.py --scales 1 100

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
