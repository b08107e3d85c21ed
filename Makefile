# Two commands on a fresh machine: `make lab` (set up, open the course) and `make test`.
# Every target sets up the virtual environment first if it is missing or out of date.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS ?= --quiet --disable-pip-version-check --no-input
PYTEST_ARGS ?=
LAB_ARGS ?=
GRADESCOPE_ARGS ?=
ASSIGNMENTS ?=
BENCH_ARGS ?=
FIRST_NOTEBOOK := course/01_recurrence/01_the_rnn_recurrence.ipynb
# Jupyter refuses to start as root (containers, CI) unless told to
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# nbgrader shells out to alembic: the environment's bin/ must be on PATH
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup sandbox lab test course bench format gradescope clean help

help:
	@echo "make lab     set up (if needed) and open the course in JupyterLab"
	@echo "make test    set up (if needed) and run the whole test suite"
	@echo "make setup   install everything into $(VENV) (idempotent)"
	@echo "make course  regenerate course/ (student notebooks) from solutions/; ASSIGNMENTS=\"02_x\" for some only"
	@echo "make format  normalise the notebooks in solutions/ (clear outputs, stable JSON)"
	@echo "make bench   print run and grading times per notebook"
	@echo "make gradescope  build dist/gradescope/<assignment>.zip, the autograders to upload to Gradescope"

setup: $(STAMP) sandbox

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c 'import torch, nbgrader, jupyterlab' || { echo "installation failed: see the pip output above"; exit 1; }
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader >/dev/null
	$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.formgrader >/dev/null 2>&1
	$(BIN)/jupyter server extension enable --sys-prefix nbgrader.server_extensions.validate_assignment >/dev/null 2>&1
	@touch $@
	@echo "environment ready in $(VENV)"

# The grader sandboxes student code with bubblewrap on Linux: installed here when we can (root + apt)
sandbox:
	@if [ "$$(uname -s)" != Linux ] || command -v bwrap >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing bubblewrap (sandbox for student code)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null || \
	  echo "warning: could not install bubblewrap; the grader will run student code unsandboxed"; \
	else echo "note: install bubblewrap (e.g. sudo apt-get install bubblewrap) so the grader can sandbox student code"; fi

lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/$(FIRST_NOTEBOOK) $(LAB_ROOT_FLAG) $(LAB_ARGS)

# pytest exits 5 when it collects no test: for this project that is a broken suite, never a pass
test: setup
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): the suite is missing or broken" >&2; fi; \
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

clean:
	rm -rf grading .pytest_cache
