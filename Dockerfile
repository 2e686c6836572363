# Growth: one image for every process (web, migrate, worker, beat); docker-compose.yml
# picks the command. Build: `docker build -t growth .`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=growth.settings

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
# pyproject.toml declares no packages (`packages = []`), so `pip install .` installs the
# dependencies only; the code runs from /app through PYTHONPATH.
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .

COPY . .

# Hashed, compressed static files for whitenoise. The settings need a secret key and must
# not start the embedded PostgreSQL/Redis (which they do when the URLs are unset), so this
# one step gets throwaway values; nothing connects to them and none stay in the image.
RUN SECRET_KEY=collectstatic-build-only \
    DATABASE_URL=postgres://x@localhost/x \
    REDIS_URL=redis://localhost:6379/0 \
    DEBUG=0 \
    python manage.py collectstatic --noinput --verbosity 0

# The code stays owned by root: the app user can read it, not change it.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home growth
USER growth

EXPOSE 8000

# Health checks live in docker-compose.yml (the web service probes /healthz).
CMD ["gunicorn", "growth.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
