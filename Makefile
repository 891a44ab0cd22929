# gateway-conformance: the two commands in README.md.
#   make test    the suite's own tests (unit tests, broken servers, real wsgiref/uvicorn runs)
#   make matrix  run every bundled target, direct and through nginx; render reports/README.md,
#                reports/index.html and its screenshot
# Both do all set-up: a .venv with the project and the bundled servers, and nginx.
#   make mutation  mutation testing (mutmut) of the pure judges against their fast unit tests;
#                  prints the score (killed / total). Not part of make test.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -p no:cacheprovider
# Workers for make matrix: each takes whole targets (--dist loadscope). A serial run and a
# -n 2 run give identical verdicts (1613 of 1613 cells compared); JOBS=0 runs serially.
# Four on two cores: a matrix run is mostly waiting on servers and bounds (about half a core
# busy on average with two workers), so two more workers hide more of the waiting.
JOBS   ?= 4

.PHONY: test matrix setup nginx chromium compiled-servers lint bench mutation clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[servers,dev]'
	touch $@

nginx:
	@bash scripts/install-nginx.sh

chromium:
	@bash scripts/install-chromium.sh

# bjoern, mod_wsgi and the uWSGI sdist: Debian build dependencies, then the builds.
compiled-servers: $(VENV)/.installed
	@bash scripts/install-compiled-servers.sh $(VENV)

setup: $(VENV)/.installed nginx chromium compiled-servers

# Four pytest-xdist workers on two cores: the tests mostly wait on servers and sockets.
# The tests start some 300 pytest and server processes: with bytecode caching on (in the
# venv, never in the checkout) each starts in about 1.5 s of CPU instead of 3.5 s, most of it
# compiling and assertion-rewriting the same modules again.
# deptry: every module the package imports is a declared dependency, and every declared
# dependency is imported (pyproject.toml [tool.deptry] lists the servers started by CLI).
test: setup
	$(VENV)/bin/deptry .
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache \
		$(PYTEST) -n 6 tests

# A check that finds a server broken fails pytest; that is the matrix's content, not an error
# of `make matrix`, so the run's exit status is not allowed to stop the rendering.
matrix: setup
	rm -rf reports/results/*.json reports/details
	-$(PYTEST) --target=all --via=all -q -rN -n $(JOBS) --dist loadscope
	$(PY) -m conformance.cli report --out reports/README.md --html reports/index.html \
		--screenshot reports/screenshot.png
	$(PY) -m conformance.cli schema --markdown > reports/SCHEMA.md

lint: setup
	$(VENV)/bin/ruff check conformance tests scripts
	$(VENV)/bin/mypy

bench: setup
	$(PY) scripts/bench.py

# mutmut mutates the files [tool.mutmut] in pyproject.toml names (oracle, desync judge,
# response parser, findings) and runs their fast tests on each mutant, MUTATION_JOBS at a time.
# A fresh run each time (rm -rf mutants): the score never rests on a cache of an older tree.
# The surviving mutants are listed after the score; `.venv/bin/mutmut show NAME` shows one.
MUTATION_JOBS ?= 2
mutation: setup
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS)
	$(VENV)/bin/mutmut export-cicd-stats >/dev/null
	@$(PY) -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
	k = s['killed'] + s['timeout']; t = s['total']; \
	print('mutation score: %d killed / %d mutants = %.1f%%' % (k, t, 100 * k / t), \
	'(%d survived, %d without tests)' % (s['survived'], s['no_tests']))"
	@$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) build *.egg-info mutants
