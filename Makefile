# 深層学習による画像認識 / Deep Learning for Image Recognition
# make lab   : create .venv, install everything, open JupyterLab on notebooks/
# make test  : the whole test suite (unit tests, notebooks in FAST mode, release, parity, browser)
# make browser: Chromium + CJK and emoji fonts for the browser tests (apt-get as root/sudo on
#               Debian/Ubuntu, else Playwright's own Chromium); `make test` runs it first

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
# `make course COURSE_LANG=ja|en|all MODE=fast|full` (not LANG: that is the locale variable)
COURSE_LANG ?= all
COURSE_LANGS := $(COURSE_LANG)
MODE ?= fast
JOBS ?= 2

# Debian/Ubuntu packages for the browser tests (Japanese and emoji would render as boxes without the fonts)
BROWSER_PKGS := chromium fonts-noto-cjk fonts-noto-color-emoji

.PHONY: lab test unit notebooks e2e lint course release bench doctor clean venv browser determinism

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $@

# `make lab LAB_ARGS="--port=8890 --no-browser"`: extra arguments for jupyter lab
LAB_ARGS ?=

lab: venv
	@root=""; if [ "$$(id -u)" -eq 0 ]; then root="--allow-root"; \
	  echo "make lab: running as root (a container or a cloud notebook?), so adding --allow-root"; fi; \
	set -x; $(VENV)/bin/jupyter lab notebooks/ $$root $(LAB_ARGS)

# Idempotent: quiet when everything is there. Never fails: if nothing can be installed, the
# browser tests are skipped with the command to run (pytest -ra shows it).
browser: venv
	@have_fonts() { fc-list :lang=ja family 2>/dev/null | grep -q . && fc-list 2>/dev/null | grep -qi emoji; }; \
	if command -v chromium >/dev/null 2>&1 && have_fonts; then \
	  echo "browser: $$(command -v chromium) and the CJK and emoji fonts are installed"; \
	elif [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 && \
	     { [ "$$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo -n"; \
	  echo "browser: installing $(BROWSER_PKGS) with apt-get"; \
	  if $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	     $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS) >/dev/null; then \
	    echo "browser: $$(command -v chromium) installed"; \
	  else \
	    echo "browser: apt-get failed; trying Playwright's own Chromium"; \
	    $(PY) -m playwright install chromium || echo "browser: no Chromium could be installed (browser tests will be skipped)"; \
	  fi; \
	else \
	  echo "browser: no Debian apt-get with root or passwordless sudo here; using Playwright's own Chromium"; \
	  $(PY) -m playwright install chromium || echo "browser: no Chromium could be installed (browser tests will be skipped)"; \
	fi

test: venv browser
	$(PY) -m pytest $(PYTEST_ARGS)

e2e: venv browser
	$(PY) -m pytest -n 0 -m e2e $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest -m "not notebooks and not e2e"

lint: venv
	$(VENV)/bin/ruff check course_utils tests notebooks bench tools

course: venv
	LANG=C.UTF-8 $(PY) tools/build_course.py --lang $(COURSE_LANGS) --mode $(MODE)

# Does FAST mode give the same numbers twice? The course built twice (`ONLY="01 06"` for some chapters), then its
# key figures and exercise results compared, times excepted (tests/test_runtime.py says which differ)
ONLY ?=
determinism: venv
	-LANG=C.UTF-8 $(PY) tools/build_course.py --lang $(COURSE_LANGS) --mode fast --out build/rerun-1 $(ONLY)
	-LANG=C.UTF-8 $(PY) tools/build_course.py --lang $(COURSE_LANGS) --mode fast --out build/rerun-2 $(ONLY)
	COURSE_RERUN_REPORTS=build/rerun-1/report.json,build/rerun-2/report.json \
	  $(PY) -m pytest -n 0 -p no:randomly -q tests/test_runtime.py -k fast_reruns

release: venv
	$(PY) -m course_utils release notebooks/ja --out release/ja
	$(PY) -m course_utils release notebooks/en --out release/en

bench: venv
	COURSE_FAST=1 $(PY) bench/run.py

doctor: venv
	$(PY) -m course_utils doctor

clean:
	rm -rf build release .pytest_cache
