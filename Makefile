# 深層学習による画像認識 / Deep Learning for Image Recognition
# make lab   : create .venv, install everything, open JupyterLab on notebooks/
# make test  : the whole test suite (unit tests, notebooks in FAST mode, release, parity, browser)

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
# `make course LANG=ja|en|all MODE=fast|full` (LANG is also the locale variable: only ja/en/all count)
COURSE_LANGS := $(if $(filter ja en all,$(LANG)),$(LANG),all)
MODE ?= fast
JOBS ?= 2

.PHONY: lab test unit notebooks e2e lint course release bench doctor clean venv

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $@

lab: venv
	$(VENV)/bin/jupyter lab notebooks/

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest -m "not notebooks and not e2e"

lint: venv
	$(VENV)/bin/ruff check course_utils tests notebooks bench tools

course: venv
	LANG=C.UTF-8 $(PY) tools/build_course.py --lang $(COURSE_LANGS) --mode $(MODE)

release: venv
	$(PY) -m course_utils release notebooks/ja --out release/ja
	$(PY) -m course_utils release notebooks/en --out release/en

bench: venv
	COURSE_FAST=1 $(PY) bench/run.py

doctor: venv
	$(PY) -m course_utils doctor

clean:
	rm -rf build release .pytest_cache
