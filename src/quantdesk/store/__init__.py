"""Storage adapter: SQLAlchemy 2 tables, Alembic migrations, repositories."""
