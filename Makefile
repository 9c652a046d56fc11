# The two set-up commands of the README. Each creates .venv on first use (Python 3.11 + pip only).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,backends]'
	touch $(STAMP)

demo: $(STAMP)  ## the main job: train legacy -> convert -> parity -> codemod -> report
	$(VENV)/bin/tf-migrate demo $(ARGS)

test: $(STAMP)  ## the whole test suite (unit tests and parity suite), one worker per CPU (pytest-xdist)
	$(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) demo_out .pytest_cache
