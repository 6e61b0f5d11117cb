# ParkLead — `make run` and `make test` are all a new developer needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := app

.PHONY: run test lint format translations extract-messages install db demo bench browser-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d crm/translations >/dev/null

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output \
		-o crm/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i crm/translations/messages.pot -d crm/translations

db: translations
	$(BIN)/flask db upgrade

## Serve on http://127.0.0.1:5000 with demo data and logins (loaded only into an empty database).
run: db
	$(BIN)/flask demo --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## Lint, then the whole suite on SQLite (and PostgreSQL too when TEST_DATABASE_URL is set).
test: translations
	$(BIN)/ruff check crm tests bench
	$(BIN)/ruff format --check crm tests bench
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not browser and not load"

browser-test: translations
	$(BIN)/pytest -q -m browser

lint: $(STAMP)
	$(BIN)/ruff check crm tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix crm tests bench
	$(BIN)/ruff format crm tests bench

bench: translations
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
