"""One process per profile: an OS advisory lock on ``<data_dir>/profile.lock``.

Two processes writing the same SQLCipher file would each keep their own in-memory delivery
state and ratchet sessions; the second one's writes would silently fork the ratchet. The lock
is released by the OS if the process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ProfileInUse, StorageError

LOCK_NAME = "profile.lock"


class ProfileLock:
    """Held from ``acquire`` until ``release`` (or process exit)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot create {self.path}: {exc.strerror}") from None
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise ProfileInUse(
                f"this profile ({self.path.parent}) is already open in another Libra process; "
                "close it first"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


if os.name == "nt":  # pragma: no cover - exercised on Windows builds
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
