"""The one error tree of journeymine.

Every error the library raises on purpose is a :class:`JourneymineError`. Each class carries a stable
``code`` (a short snake_case string) that the CLI and the HTTP API put into their JSON error shape
``{"ok": false, "error": message, "code": code, "status": status}``. Leaves also subclass the builtin a
caller would naturally catch (``ValueError``, ``FileNotFoundError``, ...)::

    JourneymineError                      code            status
    ├── ConfigError(ValueError)           config_error      400   a parameter has a bad value
    ├── StoreError                        store_error       500
    │   ├── StoreNotFoundError(FileNotFoundError) store_not_found 404 no store at that path
    │   ├── SchemaVersionError            schema_version    409   store file newer than this release
    │   ├── ReadOnlyStoreError            read_only         409   write on a read-only store (Spark)
    │   └── BackendError(RuntimeError)    backend_error     500   the database engine failed
    ├── IdentityConflictError(ValueError) identity_conflict 409   alias points elsewhere / would cycle
    ├── IngestError                       ingest_error      422
    │   ├── SourceNotFoundError(FileNotFoundError) source_not_found 404
    │   ├── FormatError(ValueError)       format_error      422   file is not what it claims
    │   └── MappingError(ValueError)      mapping_error     422   column mapping names unknown columns
    └── ExportError(ValueError)           export_error      422   cannot write the requested format

A refused *record* is not an error: it goes to the store's quarantine with its reason and position, and
the import goes on. Errors are for problems that stop a whole operation.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConfigError",
    "ExportError",
    "FormatError",
    "IdentityConflictError",
    "IngestError",
    "JourneymineError",
    "MappingError",
    "ReadOnlyStoreError",
    "SchemaVersionError",
    "SourceNotFoundError",
    "StoreError",
    "StoreNotFoundError",
]


class JourneymineError(Exception):
    """Root of all journeymine errors. ``code`` is stable; ``status`` is the HTTP-like status."""

    code = "journeymine_error"
    status = 500

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, object]:
        """The JSON error shape used by every surface."""
        return {"ok": False, "error": self.message, "code": self.code, "status": self.status}


class ConfigError(JourneymineError, ValueError):
    """A parameter has a value outside what is allowed."""

    code = "config_error"
    status = 400


class StoreError(JourneymineError):
    """The event store cannot do what was asked."""

    code = "store_error"
    status = 500


class StoreNotFoundError(StoreError, FileNotFoundError):
    """A store (file or Parquet folder) that should exist does not."""

    code = "store_not_found"
    status = 404


class SchemaVersionError(StoreError):
    """The store file was written by a newer journeymine than this one."""

    code = "schema_version"
    status = 409


class ReadOnlyStoreError(StoreError):
    """A write was asked of a read-only store (e.g. the Spark backend over Parquet)."""

    code = "read_only"
    status = 409


class BackendError(StoreError, RuntimeError):
    """The database engine failed while running a query."""

    code = "backend_error"
    status = 500


class IdentityConflictError(JourneymineError, ValueError):
    """An identity merge contradicts an earlier one or would make a cycle."""

    code = "identity_conflict"
    status = 409


class IngestError(JourneymineError):
    """An import failed as a whole; the store is left as it was."""

    code = "ingest_error"
    status = 422


class SourceNotFoundError(IngestError, FileNotFoundError):
    """The file to import does not exist."""

    code = "source_not_found"
    status = 404


class FormatError(IngestError, ValueError):
    """The file is not what its format claims (not XML, truncated gzip, missing sections)."""

    code = "format_error"
    status = 422


class MappingError(IngestError, ValueError):
    """A column mapping names columns the source does not have, or is incomplete."""

    code = "mapping_error"
    status = 422


class ExportError(JourneymineError, ValueError):
    """An export cannot be written as asked."""

    code = "export_error"
    status = 422
