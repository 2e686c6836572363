# The commands the README names. Everything runs from the project's own virtualenv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo run test lint typecheck pytest bench fmt venv messages clean-demo

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make demo: embedded PostgreSQL + Redis (unless DATABASE_URL/REDIS_URL are set), demo shop,
## web + worker + beat. RESET=1 starts from empty data.
demo: venv
	$(PY) -m growth.run demo $(if $(RESET),--reset,)

## make run: the same processes against the configured servers.
run: venv
	$(PY) -m growth.run serve

## make test: lint, types and the whole suite against the real servers.
test: venv lint typecheck pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The django-stubs plugin imports the settings; give it values so it never starts servers.
typecheck: venv
	SECRET_KEY=typecheck DATABASE_URL=$${DATABASE_URL:-postgres://localhost/growth} \
	REDIS_URL=$${REDIS_URL:-redis://localhost:6379/0} $(VENV)/bin/mypy

pytest: venv
	$(PY) -m pytest $(PYTEST_ARGS)

bench: venv
	$(PY) bench/run.py $(BENCH_ARGS)

fmt: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make messages: extract every UI string into locale/zh_Hans/LC_MESSAGES/django.po (new ones
## arrive untranslated; tests/growth/test_i18n.py fails until they are translated) and compile
## the .mo files Django reads at run time. Needs GNU gettext (xgettext, msgmerge, msgfmt).
MESSAGES_ARGS := -l zh_Hans --no-obsolete --ignore=.venv --ignore=bench --ignore=tests \
	--ignore=static/vendor --ignore=staticfiles --ignore=build
messages: venv
	SECRET_KEY=messages DATABASE_URL=$${DATABASE_URL:-postgres://localhost/growth} \
	REDIS_URL=$${REDIS_URL:-redis://localhost:6379/0} sh -c '\
	$(PY) manage.py makemessages $(MESSAGES_ARGS) && \
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv'

clean-demo:
	$(PY) -c "from growth import devservices; devservices.reset()"
