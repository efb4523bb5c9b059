"""Persistence: SQLModel tables, Alembic migrations and data-access functions."""
