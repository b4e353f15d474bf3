"""A fast, raw-SQL async blog API on FastAPI and PostgreSQL."""
