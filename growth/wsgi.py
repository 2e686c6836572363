"""WSGI entry point for gunicorn: `gunicorn growth.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growth.settings")

application = get_wsgi_application()
