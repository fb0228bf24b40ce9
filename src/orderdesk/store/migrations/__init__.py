"""Alembic migrations for the event store, shipped inside the package and run at open."""
