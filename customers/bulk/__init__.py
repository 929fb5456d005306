"""Bulk customers: imports (CSV, JSON Lines, XLSX) and exports, run as jobs on the `bulk` Celery queue."""
