# Each target sets up .venv itself (and bubblewrap, the grading sandbox) when missing.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# nbgrader's gradebook runs `alembic` by name: the venv's bin must be on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test release check bench bench-grade mutation lint setup sandbox clean

setup: $(STAMP) sandbox

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned to the CPU wheel: an unpinned torch pulls gigabytes of CUDA.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

sandbox:
	@command -v bwrap >/dev/null || { \
	  echo "installing bubblewrap (the grading sandbox)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bubblewrap; }

release: setup
	$(PY) -m course release --all

demo: setup
	$(PY) -m course demo

check: setup
	$(PY) -m course check --all

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q -n 2 --dist loadscope

bench: setup
	for b in $(filter-out benchmarks/bench_grading.py,$(wildcard benchmarks/bench_*.py)); do \
	  $(PY) $$b || exit 1; done

bench-grade: setup
	$(PY) benchmarks/bench_grading.py --lab tiny
	$(PY) benchmarks/bench_grading.py --lab activation_matrix

# Mutation score of the hidden graders (minutes per lab; verdicts cached in .cache/mutation).
# `make mutation LAB=nn_foundations` for one lab; CHECK=1 compares with the committed reports.
mutation: setup
	$(PY) benchmarks/mutation/run.py $(if $(LAB),--lab $(LAB)) $(if $(CHECK),--check)

clean:
	rm -rf autograded submitted feedback gradebook.db demo reports
