"""The one exception hierarchy of landflood.

Every message says what went wrong and what to do about it. Subclasses mix in the builtin
that callers would expect, so ``except ValueError`` still works where it is natural.
"""


class LandfloodError(Exception):
    """Root of every error landflood raises on purpose."""


class ConfigError(LandfloodError, ValueError):
    """A setting is missing or wrong."""


class ClusterError(LandfloodError, RuntimeError):
    """The managed PostgreSQL cluster cannot be created, started or stopped."""


class DatabaseError(LandfloodError, RuntimeError):
    """The database is unreachable, unmigrated or refused an operation."""


class DataError(LandfloodError, ValueError):
    """Input data cannot be used as it is."""


class NotFoundError(LandfloodError, LookupError):
    """A requested object does not exist."""


class QueryError(LandfloodError, ValueError):
    """A request parameter or filter cannot be used; the message names the bad part."""


class UriTooLongError(QueryError):
    """The request's query string is longer than the service accepts."""


class QueryTimeoutError(LandfloodError, TimeoutError):
    """A request's work ran longer than the service allows; it was stopped."""


class ServiceBusyError(LandfloodError, RuntimeError):
    """The service is busy with the same kind of work; retry in a moment."""


class AuthenticationError(LandfloodError, PermissionError):
    """No valid credentials were given where they are needed."""


class PermissionDeniedError(LandfloodError, PermissionError):
    """The caller is known but their role does not allow this."""


class ConflictError(LandfloodError, RuntimeError):
    """The request conflicts with the stored state (the object exists, or changed meanwhile)."""


class PreconditionFailedError(ConflictError):
    """An If-Match precondition does not hold: someone else changed the object first."""


class PreconditionRequiredError(ConflictError):
    """A change was sent without the If-Match that proves the sender saw the current state."""


class RulesNotMetError(LandfloodError, ValueError):
    """An application fails a critical rule of the registry's catalogue; ``report`` lists each
    rule's result and the features at fault."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


class RulesConflictError(ConflictError):
    """An application conflicts with the register's state now (another open application on its
    parcels, or a parcel changed since lodging); ``report`` says which rule and where."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report
