"""The analytics warehouse, in DuckDB. Pseudonymous ids only: no personal data lands here."""
