"""Gives the import check's worker its view of the files, in its mount namespace: the platform's
secret files hidden, and every file system read-only but the worker's own temporary folder.

Run by ``unshare`` in the worker's new namespaces, before ``setpriv`` drops every capability, as
``python -I -S -c <this file> [--hide PATH]... [--keep PATH]... [--writable FOLDER] -- COMMAND...``
(the standard library only; the paths are arguments, never shell text), then it becomes COMMAND
(``exec``) with ``TMPDIR`` set to FOLDER.

Invariant: COMMAND runs only once, for it and every process it starts,

- every ``--hide`` PATH is hidden: a folder under an empty read-only tmpfs, anything else under
  ``/dev/null`` (a bind mount: it reads empty). A ``--keep`` folder inside a hidden one (the
  folder being validated) is mounted back where it was, read as before; a hidden PATH inside a
  kept folder is hidden again;
- every mount it can reach is read-only and ``nodev`` (no device can be opened through it),
  except the ``--writable`` FOLDER (bound onto itself: read-write, ``nodev``, ``nosuid``) and
  the harmless devices (``/dev/null``, ``zero``, ``full``, ``random``, ``urandom`` and the
  ``/dev/null`` over each hidden file: read-only, usable). Every mount of the namespace is
  remounted (``/proc/self/mountinfo``), then the table is read again and checked, so what no
  one mounted by name (``/proc``, ``/sys``, the folder validated, a disk's device node) is
  covered too. A mount covered by another one, or whose place cannot be reached, is not
  reachable by COMMAND either and is left as it is.

If any step fails, it prints ``adp-hide: cannot hide PATH: why`` (or ``adp-hide: cannot make
PATH read-only: why``) on stderr and exits with ``EXIT`` without running COMMAND (fail closed);
a hidden PATH that no longer exists is skipped (nothing to read). The mounts are made in the
namespace ``unshare --mount`` gave, made private first (nothing mounted outside appears inside
later), never in the caller's: the read-only step refuses to run unless this process is the
first of a PID namespace of its own (``unshare --pid --fork``). Every remount is a bind remount
(``MS_REMOUNT | MS_BIND``): it changes this namespace's mount, never the file system the
machine shares. COMMAND, without capabilities, cannot undo any of it.
"""

import ctypes
import os
import re
import stat
import sys

EXIT = 70
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME = 256, 1024, 2048
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
HIDDEN = MS_NOSUID | MS_NODEV | MS_NOEXEC
TMPFS_OPTIONS = "mode=0755,size=64k,nr_inodes=1024"
# Kept as they are on a remount (the kernel refuses to change the locked ones in a user
# namespace): the per-mount options of /proc/self/mountinfo and their flags.
KEPT = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
        "nosymfollow": MS_NOSYMFOLLOW, "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME,
        "relatime": MS_RELATIME}  # fmt: skip
# Devices the worker may open (read-only mounts still let it write to them: they hold nothing).
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
UNREACHABLE = {2, 13, 20, 40}  # ENOENT, EACCES, ENOTDIR, ELOOP: no path leads there
ESCAPED = re.compile(rb"\\([0-7]{3})")


def _fail(path, what, doing="hide"):
    sys.stderr.write(f"adp-hide: cannot {doing} {path}: {what}\n")
    sys.stderr.flush()
    os._exit(EXIT)


def _read_only_failed(path, what):
    _fail(path, what, "make read-only (the file system stays writable)")


def _arguments(argv):
    """(hide, keep, writable, command) of ``argv``."""
    hide: list[str] = []
    keep: list[str] = []
    writable: list[str] = []
    index = 0
    usage = "usage: [--hide PATH]... [--keep PATH]... [--writable FOLDER] -- COMMAND..."
    while index < len(argv) and argv[index] != "--":
        flag = argv[index]
        if flag not in ("--hide", "--keep", "--writable") or index + 1 >= len(argv):
            _fail(flag, usage)
        path = argv[index + 1]
        if not os.path.isabs(path):
            _fail(path, "not an absolute path")
        {"--hide": hide, "--keep": keep, "--writable": writable}[flag].append(
            os.path.normpath(path)
        )
        index += 2
    command = argv[index + 1 :]
    if not command:
        _fail("-", "no command after --")
    if len(writable) > 1:
        _fail(writable[1], "only one --writable folder")
    return hide, keep, (writable[0] if writable else None), command


def _depth(path):
    return len([part for part in path.split("/") if part])


def _mount_id(fd):
    """The id of the mount ``fd`` (an O_PATH handle) is on, as /proc/self/mountinfo says."""
    with open(f"/proc/self/fdinfo/{fd}") as handle:
        for line in handle:
            if line.startswith("mnt_id:"):
                return int(line.split()[1])
    raise OSError(f"no mnt_id in /proc/self/fdinfo/{fd}")


def _mounts():
    """(id, mount point as bytes, per-mount options) of every mount of this namespace."""
    with open("/proc/self/mountinfo", "rb") as handle:
        # one mount a line, split on "\n" only: the kernel escapes space, tab, newline and
        # backslash in a mount point (octal), but not "\r", which splitlines() would cut at
        lines = [line for line in handle.read().split(b"\n") if line]
    found = []
    for line in lines:
        fields = line.split(b" ")
        point = ESCAPED.sub(lambda match: bytes([int(match.group(1), 8)]), fields[4])
        found.append((int(fields[0]), point, set(fields[5].decode().split(","))))
    return found


def _reachable(ident, point):
    """An O_PATH handle on ``point`` when it leads to the mount ``ident`` (None: that mount
    is covered by another, or its place cannot be reached: no process here can get to it)."""
    try:
        fd = os.open(point, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in UNREACHABLE:
            return None
        _read_only_failed(os.fsdecode(point), error.strerror)
    try:
        if _mount_id(fd) == ident:
            return fd
    except OSError as error:
        os.close(fd)
        _read_only_failed(os.fsdecode(point), str(error))
    os.close(fd)
    return None


def _wanted(ident, writable_id, devices):
    """The options a mount must have: (what must be in them, what must not)."""
    if ident == writable_id:
        return {"nosuid", "nodev"}, {"ro"}
    if ident in devices:
        return {"ro", "nosuid"}, set()
    return {"ro", "nosuid", "nodev"}, set()


def main(argv):
    hide, keep, writable, command = _arguments(argv)
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source, target, fstype, flags, data, what, failed=_fail, shown=None):
        encoded = [None if v is None else os.fsencode(v) for v in (source, target, fstype, data)]
        source_b, target_b, fstype_b, data_b = encoded
        if libc.mount(source_b, target_b, fstype_b, ctypes.c_ulong(flags), data_b) != 0:
            failed(shown or target, f"{what}: {os.strerror(ctypes.get_errno())}")

    def mount_id_of(path, failed=_fail, device=False):
        """The id of the mount just made at ``path`` (links followed, as mount(2) did); with
        ``device``, only if it is a character device (else it fails)."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError as error:
            failed(path, error.strerror)
        try:
            if device and not stat.S_ISCHR(os.fstat(fd).st_mode):
                failed(path, "not a character device once mounted")
            return _mount_id(fd)
        except OSError as error:
            failed(path, str(error))
        finally:
            os.close(fd)

    # The kept folders are opened before anything covers them; mounted back from the handle.
    handles = {}
    for path in keep:
        try:
            handles[path] = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError as error:
            _fail(path, f"cannot open the folder to keep visible: {error.strerror}")
    if writable is not None:
        try:
            writable_fd = os.open(
                writable, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            )
        except OSError as error:
            _read_only_failed(writable, f"its writable folder: {error.strerror}")
    devices = set()  # ids of the mounts through which a device may be opened
    folders = []
    steps: list[tuple[str, str]]
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
            devices.add(mount_id_of(path, device=True))
    for path in folders:  # read-only once the kept folders are in place
        mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | HIDDEN, None, "read-only")
    for handle in handles.values():
        os.close(handle)

    # The read-only view: only in namespaces of its own (never the machine's mount table).
    if os.getpid() != 1:
        _read_only_failed("/", "not the first process of a PID and mount namespace of its own")
    mount(None, "/", None, MS_REC | MS_PRIVATE, None, "private", _read_only_failed)
    for path in DEVICES:  # each on a mount of its own: usable when the rest is nodev
        try:
            if not stat.S_ISCHR(os.stat(path).st_mode):
                continue
        except OSError:
            continue
        mount(path, path, None, MS_BIND, None, "bind the device", _read_only_failed)
        devices.add(mount_id_of(path, _read_only_failed, device=True))
    writable_id = None
    if writable is not None:
        source = f"/proc/self/fd/{writable_fd}"
        mount(source, writable, None, MS_BIND, None, "bind its writable folder", _read_only_failed)
        os.close(writable_fd)
        writable_id = mount_id_of(writable, _read_only_failed)
    for ident, point, options in _mounts():
        fd = _reachable(ident, point)
        if fd is None:
            continue
        needed, _ = _wanted(ident, writable_id, devices)
        flags = MS_REMOUNT | MS_BIND
        for name in options | needed:
            flags |= KEPT.get(name, 0)
        if not options & {"noatime", "relatime"}:
            flags |= MS_STRICTATIME
        shown = os.fsdecode(point)
        mount(None, f"/proc/self/fd/{fd}", None, flags, None, "remount", _read_only_failed, shown)
        os.close(fd)
    seen_writable = False
    for ident, point, options in _mounts():  # what holds now, read back
        fd = _reachable(ident, point)
        if fd is None:
            continue
        os.close(fd)
        needed, refused = _wanted(ident, writable_id, devices)
        if not needed <= options or options & refused:
            _read_only_failed(os.fsdecode(point), f"its options are {','.join(sorted(options))}")
        seen_writable = seen_writable or ident == writable_id
    if writable is not None:
        if not seen_writable:
            _read_only_failed(writable, "its writable folder is not reachable")
        os.environ["TMPDIR"] = writable
    try:
        os.execvp(command[0], command)
    except OSError as error:
        sys.stderr.write(f"adp-hide: cannot run {command[0]}: {error.strerror}\n")
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
