# Two commands do everything on a fresh machine: `make book` and `make test`.
# Each target first creates .venv and installs the pinned requirements (once).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Progress bars are for people at a keyboard; executed notebooks in the book stay clean.
RUN := TQDM_DISABLE=1 MPLBACKEND=module://matplotlib_inline.backend_inline

.PHONY: book test smoke bench lab setup clean gpu-check mutation

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Execute every chapter (cached per profile: a chapter runs again only when its code changed) and write
# _build/html.
book: $(STAMP)
	$(BIN)/python -m utils.paths
	$(RUN) $(BIN)/jupyter-book build . --path-output .

# Lint, unit tests, every notebook in a smoke run of the gpu profile (its shapes, a handful of steps,
# records kept apart in _build/records/smoke, nothing cached), every notebook once under nbval (its
# outputs go into the execution cache), then the book from that cache with warnings as errors, then
# the built book's links and, in a headless Chromium with no network, its pages (tests/browser; they
# skip, saying so, without Chromium).
test: $(STAMP)
	$(BIN)/ruff check utils tests chapters book/_ext
	$(RUN) $(BIN)/python -m pytest tests -q --ignore=tests/browser
	$(MAKE) smoke
	$(BIN)/python -m utils.paths
	$(RUN) $(BIN)/python -m pytest -p tests.nbval_cache --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 -q chapters
	$(RUN) $(BIN)/jupyter-book build . --path-output . -W -n --keep-going
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "SKIPPING the browser tests: no /usr/bin/chromium or /usr/bin/chromedriver" \
			"(apt-get install chromium chromium-driver); only the links are checked."; fi
	$(BIN)/python -m pytest tests/browser -q -rs

# The gpu profile's shapes on this machine, a handful of steps per notebook: the gpu path runs on every change.
smoke: $(STAMP)
	rm -rf _build/smoke _build/records/smoke
	GENAI_PROFILE=gpu GENAI_SMOKE=1 $(RUN) $(BIN)/python -m pytest -p tests.nbval_cache --nbval-lax \
		--nbval-current-env --nbval-cell-timeout=300 -q chapters

# On a machine with a GPU, in at most 8 minutes: the environment and measured matmul peaks, the targeted
# checks (FD-digits across devices and TF32, guidance, torchrun), and every notebook's smoke run there with
# the projected minutes of its full gpu profile; writes _build/gpu-check.json. Without CUDA: a reduced dry run.
gpu-check: $(STAMP)
	$(RUN) $(BIN)/python -m utils.gpu_check

# Execute every chapter afresh (no cache), then gather the records into _build/records/summary.json.
bench: $(STAMP)
	rm -rf _build/records
	$(RUN) $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -q chapters
	$(BIN)/python -m utils.record

# Mutation testing of the core modules (not part of make test: minutes per module): mutmut changes one operator,
# constant or argument at a time and runs the module's own tests (tests/mutation.py says which); prints each
# module's score, killed / (killed + survived), and the surviving mutants, leaving out the equivalent ones listed
# in tests/mutation_equivalent.txt. One module or a few: make mutation MODULES="diffusion metrics".
MODULES ?=
mutation: $(STAMP)
	@$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/pip install --quiet mutmut==3.3.1
	$(RUN) $(BIN)/python -m tests.mutation $(MODULES)

lab: $(STAMP)
	$(BIN)/jupyter lab chapters

clean:
	rm -rf _build
