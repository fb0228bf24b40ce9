"""Alembic environment: always online, on the connection the store hands over.

There is no alembic.ini; :func:`orderdesk.store.migrate.upgrade` builds the config in code and
passes an open connection (already inside the store's write transaction) as
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from orderdesk.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("orderdesk migrations run through orderdesk.store.migrate.upgrade()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
