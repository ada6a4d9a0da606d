"""Every file vlmq writes goes through here: written whole or not at all.

A file is written to a temporary sibling (`.NAME.PID.tmp`), fsynced and renamed over its
name, so a reader (or a resume) sees the old file or the new one, never half of one; a full disk
or any other OSError removes the temporary file and becomes one `WriteError` line naming the
path and what was being written. Temporary files a killed process left behind are removed by
`sweep_tmp` when a run folder is opened again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from vlmq.errors import VlmqError

TMP_GLOB = ".*.tmp"


class WriteError(VlmqError):
    """A file could not be written (full disk, permissions ...); the message is one line."""


def tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def writing(path: str | Path, what: str) -> Iterator[Path]:
    """Yield a temporary path to write `path`'s content to (a writer that wants a file name:
    savefig, to_csv); on success it replaces `path`, on failure it is removed and the error is
    a WriteError."""
    path = Path(path)
    tmp = tmp_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise WriteError(f"could not write {what} to {path}: "
                         f"{exc.strerror or type(exc).__name__}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes, what: str) -> Path:
    """Write `data` (text as UTF-8) to `path` whole or not at all (module docstring)."""
    with writing(path, what) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
    return Path(path)


def sweep_tmp(root: str | Path) -> list[Path]:
    """Remove the temporary files an interrupted writer left under `root`; return them. A file
    whose writer (the pid in its name) is another live process is left to it (the workers of a
    distributed run share one folder)."""
    gone = []
    for tmp in Path(root).rglob(TMP_GLOB):
        if tmp.is_file() and not tmp.is_symlink() and not _writer_alive(tmp):
            with contextlib.suppress(OSError):
                tmp.unlink()
                gone.append(tmp)
    return gone


def _writer_alive(tmp: Path) -> bool:
    pid = tmp.name.rsplit(".", 2)[-2]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, owned by someone else
        return True
    return True
