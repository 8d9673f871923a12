"""Small helpers shared by test modules (fixtures live in the conftest files)."""

from __future__ import annotations

import os
import pwd
import socket
import stat
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Throwaway clusters of the tests live here, never in the project's own var/pg.
CLUSTERS = REPO / "var" / "test-clusters"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def traversable_by(user: pwd.struct_passwd, path: Path) -> bool:
    """Whether ``user`` may enter every directory from / down to ``path`` (by the mode bits)."""
    groups = {user.pw_gid} | {g for g in os.getgrouplist(user.pw_name, user.pw_gid)}
    for directory in [*reversed(path.resolve().parents), path.resolve()]:
        st = directory.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True
