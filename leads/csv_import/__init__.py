"""CSV import of contacts: upload, map columns, load in chunks (COPY, then set-based SQL),
resumable. Its speed is measured by the `csv-import` bench scenario (bench/README.md).

An import's `kind` is contacts (the default) or orders; orders reuse the same upload, mapping,
worker, progress and row errors, with `order_rows` for their targets and rows and
`services._OrderLoader` for the load (ORM, one transaction per chunk).

- `parsing`: reading the file (encoding, delimiter), targets, guessing the mapping,
  validating one row. Pure functions, no database.
- `services`: upload, start, retry, and the chunked load (set-based SQL in one transaction
  per chunk).
- `selectors`, `forms`, `views`, `urls` (`leads/urls_imports.py`), `tasks`.

The Celery task lives in `leads.csv_import.tasks`; the Celery app registers it with
`app.autodiscover_tasks(["leads.csv_import"])`.
"""
