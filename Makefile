# Two commands on a fresh machine: `make lab` (set up, open the course) and `make test`.
# Every target sets up the virtual environment first if it is missing, out of date, half-made or
# built with an unsuitable Python (autograder/install.py decides, and says why).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_FLAGS ?= --quiet --disable-pip-version-check --no-input
# auto: on Linux, PyTorch's CPU index when it answers within 3 s; default: pip's index only; or a URL
TORCH_INDEX ?= auto
# a Python named on the command line (make setup PYTHON=python3.12) rebuilds an environment made by another
PYTHON_GIVEN := $(if $(filter command line,$(origin PYTHON)),--python-given,)
PYTEST_ARGS ?=
# make test runs the suite in this many processes (pytest-xdist), a test module per process at a time.
# Three on two cores: the suite spends about half its time waiting (timeouts of hostile submissions,
# servers and kernels starting, browsers), not computing: its processes used 730 CPU-seconds in all.
PYTEST_WORKERS ?= 3
LAB_ARGS ?=
GRADESCOPE_ARGS ?=
ASSIGNMENTS ?=
BENCH_ARGS ?=
FIRST_NOTEBOOK := course/01_recurrence/01_the_rnn_recurrence.ipynb
# Jupyter refuses to start as root (containers, CI) unless told to
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# nbgrader shells out to alembic: the environment's bin/ must be on PATH
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup venv sandbox browser postgres hub lab test test-quick course bench format gradescope clean help

help:
	@echo "make lab     set up (if needed) and open the course in JupyterLab"
	@echo "make test    set up (if needed) and run the whole test suite (PYTEST_WORKERS=3 processes)"
	@echo "make browser  install chromium and chromium-driver for the browser tests (make test does it; root + apt)"
	@echo "make postgres  install PostgreSQL's server for the gradebook-in-PostgreSQL tests (make test does it; root + apt)"
	@echo "make hub     install JupyterHub's proxy (npm's configurable-http-proxy) into classroom/ (make test does it)"
	@echo "make test-quick  the fast tests only (no notebook runs): the edit-test loop"
	@echo "make setup   install everything into $(VENV) (idempotent)"
	@echo "make course  regenerate course/ (student notebooks) from solutions/; ASSIGNMENTS=\"02_x\" for some only"
	@echo "make format  normalise the notebooks in solutions/ (clear outputs, stable JSON)"
	@echo "make bench   print run and grading times per notebook"
	@echo "make gradescope  build dist/gradescope/<assignment>.zip, the autograders to upload to Gradescope"
	@echo "make clean   delete what grading and testing leave behind (grading/ but its exchange, .pytest_cache); keeps $(VENV)"

setup: venv sandbox

# Python 3.11+; PyTorch's CPU build on Linux; one line says which torch was installed
venv:
	@$(PYTHON) autograder/install.py --venv $(VENV) $(PYTHON_GIVEN) --torch-index "$(TORCH_INDEX)" --pip-flags "$(PIP_FLAGS)"

# The grader sandboxes student code with bubblewrap on Linux: installed here when we can (root + apt)
sandbox:
	@if [ "$$(uname -s)" != Linux ] || command -v bwrap >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing bubblewrap (sandbox for student code)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null || \
	  echo "warning: could not install bubblewrap; the grader will run student code unsandboxed"; \
	else echo "note: install bubblewrap (e.g. sudo apt-get install bubblewrap) so the grader can sandbox student code"; fi

# The browser tests (tests/test_browser.py) drive Debian's chromium: installed here when we can (root + apt)
browser:
	@if [ "$$(uname -s)" != Linux ] || { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and chromium-driver (browser tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null || \
	  echo "warning: could not install chromium; the browser tests will skip"; \
	else echo "note: install chromium and chromium-driver to run the browser tests"; fi

# tests/test_gradebook_postgres.py starts Debian's PostgreSQL in a temporary folder: installed here when we can
postgres:
	@if [ "$$(uname -s)" != Linux ] || command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing postgresql (the gradebook-in-PostgreSQL tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null || \
	  echo "warning: could not install postgresql; the PostgreSQL gradebook tests will skip"; \
	else echo "note: install postgresql to run the PostgreSQL gradebook tests"; fi

# JupyterHub's proxy, from the npm registry, for classroom/jupyterhub_config.py and tests/test_jupyterhub.py
hub:
	@if [ -x classroom/node_modules/.bin/configurable-http-proxy ]; then exit 0; fi; \
	if command -v npm >/dev/null; then \
	  echo "installing configurable-http-proxy (JupyterHub's proxy) into classroom/node_modules"; \
	  npm ci --prefix classroom --no-audit --no-fund --loglevel=error >/dev/null || \
	  echo "warning: could not install configurable-http-proxy; the JupyterHub test will skip"; \
	else echo "note: install Node.js and npm (Debian: apt-get install npm), then make hub, to run JupyterHub"; fi

lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=. --KernelManager.transport=ipc --LabApp.default_url=/lab/tree/$(FIRST_NOTEBOOK) $(LAB_ROOT_FLAG) $(LAB_ARGS)

# pytest exits 5 when it collects no test: for this project that is a broken suite, never a pass
test: setup browser postgres hub
	@$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): the suite is missing or broken" >&2; fi; \
	exit $$status

test-quick: setup
	@$(BIN)/python -m pytest -m "not slow" -q $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test-quick: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$status

course: setup
	$(BIN)/python -m autograder.build course $(ASSIGNMENTS)

format: setup
	$(BIN)/python -m autograder.build format

bench: setup
	$(BIN)/python -m autograder.bench $(BENCH_ARGS)

# one autograder zip per assignment; GRADESCOPE_ARGS="01_recurrence" builds only that one
gradescope: setup
	$(BIN)/python -m autograder.gradescope $(GRADESCOPE_ARGS)

# keeps grading/exchange: it holds what students released, fetched and submitted
clean:
	@if [ -d grading ]; then find grading -mindepth 1 -maxdepth 1 ! -name exchange -exec rm -rf {} +; fi
	rm -rf .pytest_cache
