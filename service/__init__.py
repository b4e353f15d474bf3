"""A fast, raw-SQL async blog API on FastAPI and PostgreSQL."""

__version__ = "0.2.0"
