"""The kernel's exceptions.

One root class, so callers can catch everything the kernel raises on purpose::

    CRMError
     ├── ConfigError          start-up configuration is wrong (file, key, reason)
     ├── PluginError          a plugin is unknown, missing a requirement, or in a cycle
     └── RecordError          a write or read was refused; carries an HTTP-like code
          ├── ValidationError   422: a value is wrong (details name each field)
          ├── NotFound          404: no such record, or the caller may not see it
          ├── Forbidden         403: the caller may not do this
          ├── Conflict          409: the write clashes with stored data
          └── Vetoed            422: a plugin's before_* hook refused the write

Messages are written for the person who made the mistake: they name the field
and the reason, never SQL or a traceback.
"""

from __future__ import annotations

from typing import Any


class CRMError(Exception):
    """Root of every exception the kernel raises on purpose."""


class ConfigError(CRMError):
    """The configuration cannot be used; ``str()`` is one line naming file, key and reason."""

    def __init__(self, reason: str, *, file: str | None = None, key: str | None = None):
        self.reason, self.file, self.key = reason, file, key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class PluginError(CRMError):
    """A plugin cannot be loaded, enabled or disabled as asked."""


class RecordError(CRMError):
    """A refused read or write. ``code`` and ``status`` follow the HTTP error contract."""

    code = "bad_request"
    status = 400

    #: for a message with values in it (see :meth:`worded`): the catalog's text and its values
    template: str | None = None
    params: dict[str, Any] | None = None

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    @classmethod
    def worded(cls, template: str, details: list[dict[str, Any]] | None = None, **params: Any) -> "RecordError":
        """A refusal whose sentence carries values: ``Conflict.worded("cooldown until %(until)s", until="2026-01-12")``.

        The message is ``template % params`` in English; where a person reads it the catalogs
        translate ``template`` (list it in the plugin's ``.po``) and the values are put back in.
        """
        exc = cls(template % params, details)
        exc.template, exc.params = template, dict(params)
        return exc

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(RecordError):
    """One or more values are wrong; each detail is ``{"loc": [...], "msg": ...}``."""

    code = "validation_error"
    status = 422

    @classmethod
    def at(cls, loc: list[str | int], msg: str) -> "ValidationError":
        """A validation error about a single location, e.g. ``["custom", "industry"]``."""
        where = ".".join(str(part) for part in loc)
        return cls(f"{where}: {msg}", [{"loc": list(loc), "msg": msg}])


class NotFound(RecordError):
    """404: no such record, or one the caller may not see (never a 403, so nothing leaks)."""

    code = "not_found"
    status = 404


class Forbidden(RecordError):
    """403: the caller's role may not do this."""

    code = "forbidden"
    status = 403


class Conflict(RecordError):
    """409: the write clashes with stored data (a unique value taken, a record changed meanwhile)."""

    code = "conflict"
    status = 409


class Vetoed(ValidationError):
    """Raised by a plugin's ``before_*`` hook to refuse a write with a reason."""


class Unauthorized(RecordError):
    """401: no valid credentials were sent."""

    code = "unauthorized"
    status = 401


class RateLimited(RecordError):
    """429: too many attempts; try again later."""

    code = "rate_limited"
    status = 429
