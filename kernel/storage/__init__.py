"""PostgreSQL access: the embedded server for zero-setup installs, the pool, and versioned migrations."""

from kernel.storage.database import Database, open_database

__all__ = ["Database", "open_database"]
