"""Files written whole or not at all.

The bytes go to a dot-named temporary file beside the target (the same folder, so the
same file system: the rename cannot fail with EXDEV, and Jekyll ignores dot-files),
which is fsynced, then moved into place (a rename, or a link that refuses to replace an
existing file), and the folder is fsynced. A crash leaves the old file or the new one,
and at worst a temporary file that the next run removes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path

TMP_PREFIX = ".tmp-"


def write(target: Path, data: bytes, *, replace: bool = True, before_replace: Callable[[], None] | None = None) -> None:
    """Put ``data`` at ``target`` atomically. With ``replace`` false an existing file is never
    replaced (FileExistsError). ``before_replace`` runs once the new bytes are on disk, just
    before they take the target's place: an exception from it leaves the target as it was.
    Any failure is the exception it was; no temporary file stays."""
    tmp = target.parent / f"{TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{target.name}"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        if replace:
            os.replace(tmp, target)
        else:
            _place(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` unless ``target`` exists: a hard link fails with EEXIST
    instead of replacing; file systems without links get a checked rename."""
    try:
        os.link(tmp, target)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(target)) from exc
        os.replace(tmp, target)
        return
    os.unlink(tmp)
