# Two entry points for a newcomer: `make demo` and `make test`. Both create .venv (Python 3.11)
# on first use and install skipwise with every extra, editable.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint format bench proof browser graphviz

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[all,dev]'
	# The editable build leaves metadata in the checkout; on sys.path it would make the
	# distribution (and its Airflow plugin) appear twice.
	rm -rf *.egg-info
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/python dags/demo.py

# Tests use Debian's packages, never downloaded binaries: $(call apt,COMMAND,PACKAGE) installs
# PACKAGE unless COMMAND is there.
define apt
	@command -v $(1) >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(2) >/dev/null; }
endef

# Browser tests drive chromium through playwright; the DOT test renders with Graphviz.
browser:
	$(call apt,chromium,chromium)

graphviz:
	$(call apt,dot,graphviz)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(INSTALLED) browser graphviz lint
	$(BIN)/python -m pytest -n 2 --durations=15

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Timings; the real-code proofs (long, and the replay clones humanize from GitHub) are `proof`.
PROOFS := bench/real_packages.py bench/replay_history.py

bench: $(INSTALLED)
	for script in $(filter-out $(PROOFS),$(wildcard bench/[a-z]*.py)); do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

proof: $(INSTALLED)
	for script in $(PROOFS); do echo "== $$script"; $(BIN)/python $$script || exit 1; done
