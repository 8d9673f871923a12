"""Alembic history of the landflood schema (a package so that installs carry it)."""
