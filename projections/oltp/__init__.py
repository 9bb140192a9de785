"""The operational read model: PostgreSQL in production, SQLite in embedded mode."""
