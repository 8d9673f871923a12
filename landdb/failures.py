"""What the database server's refusals mean for the person at the command line, in our words.

The CLI translates a driver error here once, at its boundary (``landflood.cli``): a read-only or
full database, or a lost connection, is one line that says what happened to the data and what to
do; anything else is a bug and keeps its traceback. Every write of landflood runs in one
transaction, so "nothing was changed" is true whenever the statement failed.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pgerrors
from sqlalchemy.exc import DBAPIError

from landflood.errors import DatabaseError


def database_failure(exc: BaseException) -> DatabaseError | None:
    """Our error for a driver error that is the server's state rather than a bug; else None."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, psycopg.Error):
        return None
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
    if isinstance(orig, pgerrors.ReadOnlySqlTransaction):
        return DatabaseError("the database is read-only (a standby, or default_transaction_read_only is on); "
                             "nothing was changed. Point LANDFLOOD_DATABASE_URL at the primary and run it again")
    if isinstance(orig, pgerrors.DiskFull):
        return DatabaseError(f"the database server has run out of disk space ({reason}); nothing was changed "
                             "(the transaction rolled back). Free space on the server and run it again")
    if isinstance(orig, (pgerrors.OutOfMemory, pgerrors.InsufficientResources)):
        return DatabaseError(f"the database server ran out of resources ({reason}); nothing was changed. "
                             "Try again later, or in smaller parts")
    if isinstance(orig, psycopg.OperationalError):
        return DatabaseError(f"the connection to the database was lost ({reason}); nothing of this command was "
                             "committed. Check that the server is running (landflood db status) and run it again")
    return None
