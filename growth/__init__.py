"""Growth: e-commerce CRM, marketing automation and sales engagement in one Django project."""

# Importing the Celery app here makes `shared_task` bind to it whenever Django starts.
from growth.celery import app as celery_app

__all__ = ("celery_app",)
