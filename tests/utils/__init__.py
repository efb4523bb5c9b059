"""Test helpers: a private PostgreSQL cluster, a fake chat user, database fixtures."""
