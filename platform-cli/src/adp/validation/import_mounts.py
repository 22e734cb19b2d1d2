"""Hides the platform's secret files from the import check's worker, in its mount namespace.

Run by ``unshare`` in the worker's new namespaces, before ``setpriv`` drops every capability, as
``python -I -S -c <this file> [--hide PATH]... [--keep PATH]... -- COMMAND...`` (the standard
library only; the paths are arguments, never shell text), then it becomes COMMAND (``exec``).

Invariant: COMMAND runs only once every ``--hide`` PATH is hidden for it and every process it
starts: a folder under an empty read-only tmpfs, anything else under ``/dev/null`` (a bind
mount: it reads empty). A ``--keep`` folder inside a hidden one (the folder being validated) is
mounted back where it was, read as before; a hidden PATH inside a kept folder is hidden again.
If any mount fails, it prints ``adp-hide: cannot hide PATH: why`` on stderr and exits with
``EXIT`` without running COMMAND (fail closed); a PATH that no longer exists is skipped (nothing
to read). The mounts are made in the namespace ``unshare --mount`` gave (propagation private),
never in the caller's; COMMAND, without capabilities, cannot undo them.
"""

import ctypes
import os
import sys

EXIT = 70
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
HIDDEN = MS_NOSUID | MS_NODEV | MS_NOEXEC
TMPFS_OPTIONS = "mode=0755,size=64k,nr_inodes=1024"


def _fail(path, what):
    sys.stderr.write(f"adp-hide: cannot hide {path}: {what}\n")
    sys.stderr.flush()
    os._exit(EXIT)


def _arguments(argv):
    """(hide, keep, command) of ``argv``."""
    hide, keep = [], []
    index = 0
    while index < len(argv) and argv[index] != "--":
        flag = argv[index]
        if flag not in ("--hide", "--keep") or index + 1 >= len(argv):
            _fail(flag, "usage: [--hide PATH]... [--keep PATH]... -- COMMAND...")
        path = argv[index + 1]
        if not os.path.isabs(path):
            _fail(path, "not an absolute path")
        (hide if flag == "--hide" else keep).append(os.path.normpath(path))
        index += 2
    command = argv[index + 1 :]
    if not command:
        _fail("-", "no command after --")
    return hide, keep, command


def _depth(path):
    return len([part for part in path.split("/") if part])


def main(argv):
    hide, keep, command = _arguments(argv)
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source, target, fstype, flags, data, what):
        encoded = [None if v is None else os.fsencode(v) for v in (source, target, fstype, data)]
        source_b, target_b, fstype_b, data_b = encoded
        if libc.mount(source_b, target_b, fstype_b, ctypes.c_ulong(flags), data_b) != 0:
            _fail(target, f"{what}: {os.strerror(ctypes.get_errno())}")

    # The kept folders are opened before anything covers them; mounted back from the handle.
    handles = {}
    for path in keep:
        try:
            handles[path] = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError as error:
            _fail(path, f"cannot open the folder to keep visible: {error.strerror}")
    folders = []
    steps = sorted([(p, "hide") for p in hide] + [(p, "keep") for p in handles],
                   key=lambda step: (_depth(step[0]), step[1] == "keep", step[0]))  # fmt: skip
    for path, kind in steps:
        if kind == "keep":
            try:
                os.makedirs(path, exist_ok=True)  # inside the tmpfs that hides its parent
            except OSError as error:
                _fail(path, f"cannot make the folder to keep visible: {error.strerror}")
            mount(f"/proc/self/fd/{handles[path]}", path, None, MS_BIND | MS_REC, None, "keep")
            continue
        try:
            folder = os.path.isdir(path)
            exists = os.path.lexists(path)
        except OSError as error:
            _fail(path, error.strerror)
        if not exists:
            continue
        if folder:
            mount("adp-hidden", path, "tmpfs", HIDDEN, TMPFS_OPTIONS, "tmpfs")
            folders.append(path)
        else:
            mount("/dev/null", path, None, MS_BIND, None, "bind /dev/null")
    for path in folders:  # read-only once the kept folders are in place
        mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | HIDDEN, None, "read-only")
    for handle in handles.values():
        os.close(handle)
    try:
        os.execvp(command[0], command)
    except OSError as error:
        sys.stderr.write(f"adp-hide: cannot run {command[0]}: {error.strerror}\n")
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
