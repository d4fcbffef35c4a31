"""Faults named plainly at the command line: exit codes, bad URLs, a
redirect, an unusable proxy, export of a missing or read-only database,
``import`` of spill files, database passwords kept off the command line,
``-v`` and ``--log-file`` after the command. Real processes, real files,
real loopback servers, real MariaDB when ``AYLA_TEST_MYSQL_URL`` is set."""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.headless.record import RecordResult, summary
from ayla_monitor.store.spill import spill_line, write_spill
from tests.conftest import sqlite_file

KEY = "0123456789abcdef0123456789abcdef"
DATA = Path(__file__).parent / "data"


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180, user: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ayla_monitor", *args]
    if user is not None:  # another user, so that permission bits count (the tests run as root)
        entry = pwd.getpwnam(user)
        ids = [f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
        command = ["setpriv", *ids, *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), **(env or {})},
        cwd="/",
    )


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr


# -- the recorder's exit codes ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ws://127.0.0.1:99999/stream", "has no valid port"),
        ("ws://127.0.0.1:0/stream", "has no valid port"),
        ("ws://127.0.0.1:x/stream", "has no valid port"),
        ("ws:///stream", "names no host"),
        ("ftp://127.0.0.1/stream", "ws:// or wss://"),
    ],
)
def test_an_invalid_url_is_a_command_line_error(tmp_path: Path, url: str, message: str) -> None:
    done = cli("record", "--url", url, "--stream-key", KEY, "--db", str(tmp_path / "e.sqlite"))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    no_traceback(done)
    assert not (tmp_path / "e.sqlite").exists()


class _Redirect(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # websockets takes no HTTP/1.0 answer

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:1/login")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def redirecting_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_redirect_to_http_stops_with_exit_2(tmp_path: Path, redirecting_server: int) -> None:
    done = cli(
        "record",
        "--url",
        f"ws://127.0.0.1:{redirecting_server}/stream",
        "--stream-key",
        KEY,
        "--db",
        str(tmp_path / "e.sqlite"),
        "--proxy",
        "",
    )
    assert done.returncode == 2, done.stderr
    assert "redirected the stream to http://127.0.0.1:1/login" in done.stderr
    assert KEY not in done.stderr
    no_traceback(done)


@pytest.mark.skipif(importlib.util.find_spec("python_socks") is not None, reason="python-socks is installed")
def test_a_socks_proxy_without_python_socks_stops_with_exit_2(tmp_path: Path) -> None:
    done = cli(
        "record",
        "--url",
        "ws://127.0.0.1:9/stream",
        "--stream-key",
        KEY,
        "--db",
        str(tmp_path / "e.sqlite"),
        "--proxy",
        "socks5://127.0.0.1:1080",
    )
    assert done.returncode == 2, done.stderr
    assert "socks5://127.0.0.1:1080 is a SOCKS proxy, which needs the python-socks package" in done.stderr
    no_traceback(done)


def test_exit_codes_of_how_a_recording_ended() -> None:
    from ayla_monitor.core.status import StreamState, StreamStatus
    from ayla_monitor.dss.errors import SETTINGS_REJECTED

    def stopped(detail: str) -> StreamStatus:
        return StreamStatus(1, "s", "ws://h", None, state=StreamState.STOPPED, detail=detail)

    assert RecordResult([stopped("internal error (see the log)")]).internal_error
    assert not RecordResult([stopped("disconnected")]).internal_error
    mixed = RecordResult(
        [stopped(SETTINGS_REJECTED + "the proxy"), stopped("h rejected stream key 0123…cdef")]
    )
    assert mixed.settings_rejected and not mixed.all_rejected
    assert not RecordResult([stopped(SETTINGS_REJECTED + "x"), stopped("disconnected")]).settings_rejected


def test_exit_5_names_the_import_command(tmp_path: Path) -> None:
    spill = tmp_path / "my spills" / "unstored-1.jsonl"
    lines = summary(RecordResult(spill_path=spill, database="/data/events.sqlite"))
    assert f"ayla-monitor import --db /data/events.sqlite '{spill}'" in lines[-1]
    mysql = summary(RecordResult(spill_path=spill, database="mysql://rec@db:3306/ayla"))
    assert "--db mysql://rec@db:3306/ayla" in mysql[-1] and "AYLA_DB_PASSWORD" in mysql[-1]


# -- export -----------------------------------------------------------------


def test_export_of_a_missing_database_exits_4_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "not" / "there" / "events.sqlite"
    done = cli("export", "--db", str(target))
    assert done.returncode == 4, done.stderr
    assert f"{target} does not exist" in done.stderr
    no_traceback(done)
    assert not (tmp_path / "not").exists()


def make_recorded_database(path: Path, events: int = 5) -> None:
    """A WAL database with a stream and ``events`` events, closed cleanly."""
    from ayla_monitor.store.database import Store
    from ayla_monitor.store.writer import EventWriter

    url = f"sqlite:///{path}"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h/stream", "f" * 16, None).id
    writer = EventWriter(url, commit_interval=0.01)
    writer.start()
    sample = json.loads((DATA / "datapoint.json").read_text())
    frames = []
    for seq in range(1, events + 1):
        sample["seq"] = str(seq)
        frames.append(parse_frame(encode_frame(sample), 1_700_000_000.0 + seq))
    assert writer.submit(sid, frames)
    assert writer.flush(timeout=60)
    assert writer.close() is None


def exported_seqs(done: subprocess.CompletedProcess[str]) -> list[int]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["seq"] for line in done.stdout.splitlines()]


def test_export_changes_nothing_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    make_recorded_database(db)
    before = (db.read_bytes(), db.stat().st_mtime_ns)
    assert exported_seqs(cli("export", "--db", str(db))) == [1, 2, 3, 4, 5]
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before
    # A reader of a WAL database may leave its empty WAL and index behind, as any reader does.
    wal = tmp_path / "events.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert {p.name for p in tmp_path.iterdir()} <= {"events.sqlite", "events.sqlite-wal", "events.sqlite-shm"}


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root (mounts, another user)"
)


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(source folder, the same folder mounted read-only): root cannot write there either."""
    source, mounted = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    mounted.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(mounted)], capture_output=True).returncode:
        pytest.skip("bind mounts are not allowed here")
    try:
        remount = ["mount", "-o", "remount,bind,ro", str(mounted)]
        if subprocess.run(remount, capture_output=True).returncode:
            pytest.skip("read-only remounts are not allowed here")
        yield source, mounted
    finally:
        subprocess.run(["umount", str(mounted)], check=True)


@needs_root
def test_export_from_a_read_only_mount(read_only_mount: tuple[Path, Path]) -> None:
    source, mounted = read_only_mount
    make_recorded_database(source / "events.sqlite")
    assert not (source / "events.sqlite-shm").exists()  # closed cleanly: no WAL index to lean on
    probe = subprocess.run(["touch", str(mounted / "x")], capture_output=True)
    assert probe.returncode != 0  # really read-only, even for root
    assert exported_seqs(cli("export", "--db", str(mounted / "events.sqlite"))) == [1, 2, 3, 4, 5]
    csv_done = cli("export", "--db", str(mounted / "events.sqlite"), "--format", "csv", "--malformed")
    assert csv_done.returncode == 0 and csv_done.stdout.startswith("id,stream,received_at"), csv_done.stderr


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder other users can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="ayla-test-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


def copy_while_open(db: Path, folder: Path) -> None:
    """Copy ``db`` as a recorder that died would leave it: one more event
    (seq 6) still in its WAL, with the WAL index beside it."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        columns = [row[1] for row in conn.execute("PRAGMA table_info(events)") if row[1] not in ("id", "seq")]
        names = ", ".join(columns)
        conn.execute(f"INSERT INTO events (seq, {names}) SELECT 6, {names} FROM events WHERE seq = 5")
        conn.commit()
        for suffix in ("", "-wal", "-shm"):
            shutil.copy(f"{db}{suffix}", folder / f"events.sqlite{suffix}")
    finally:
        conn.close()


@needs_root
def test_export_from_a_read_only_mount_after_a_crash(
    tmp_path: Path, read_only_mount: tuple[Path, Path]
) -> None:
    source, mounted = read_only_mount
    make_recorded_database(tmp_path / "live.sqlite")
    copy_while_open(tmp_path / "live.sqlite", source)
    assert (source / "events.sqlite-wal").stat().st_size > 0
    # with its WAL index there, the newest event (in the WAL) is read too
    assert exported_seqs(cli("export", "--db", str(mounted / "events.sqlite"))) == [1, 2, 3, 4, 5, 6]


@needs_root
def test_export_from_a_read_only_mount_says_what_it_cannot_see(
    tmp_path: Path, read_only_mount: tuple[Path, Path]
) -> None:
    source, mounted = read_only_mount
    make_recorded_database(tmp_path / "live.sqlite")
    copy_while_open(tmp_path / "live.sqlite", source)
    (source / "events.sqlite-shm").unlink()  # the WAL without its index: nobody can read it here
    done = cli("export", "--db", str(mounted / "events.sqlite"))
    assert exported_seqs(done) == [1, 2, 3, 4, 5]
    assert "the newest events, still in events.sqlite-wal, cannot be read" in done.stderr


@pytest.fixture
def another_user() -> str:
    """A user other than root who can run this Python (one installed in root's
    home, as pyenv does under /root, is out of other users' reach)."""
    user = "nobody"
    probe = cli("--version", user=user, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"user {user} cannot run {sys.executable}: {probe.stderr.strip()}")
    return user


@needs_root
def test_export_of_a_read_only_file_and_folder_as_another_user(shared_tmp: Path, another_user: str) -> None:
    folder = shared_tmp / "data"
    folder.mkdir()
    db = folder / "events.sqlite"
    make_recorded_database(db)
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        assert exported_seqs(cli("export", "--db", str(db), user=another_user)) == [1, 2, 3, 4, 5]
        denied = cli("export", "--db", str(db), "-o", str(folder / "out.jsonl"), user=another_user)
        assert denied.returncode == 2 and "cannot write" in denied.stderr, denied.stderr
    finally:
        folder.chmod(0o755)
    assert sorted(p.name for p in folder.iterdir()) == ["events.sqlite"]
    assert stat.S_IMODE(db.stat().st_mode) == 0o444


@needs_root
def test_export_of_an_immutable_file(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    make_recorded_database(db)
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
        pytest.skip("chattr +i is not supported on this filesystem")
    try:
        assert exported_seqs(cli("export", "--db", str(db))) == [1, 2, 3, 4, 5]
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


# -- import -----------------------------------------------------------------


def spill_for(db: Path, path: Path, seqs: range, stream_id: int = 1) -> None:
    # the events make_recorded_database() stores: a seq both hold is a true duplicate
    sample = json.loads((DATA / "datapoint.json").read_text())
    frames = []
    for seq in seqs:
        sample["seq"] = str(seq)
        frames.append(parse_frame(encode_frame(sample), 1_700_000_100.0 + seq))
    frames.append(parse_frame("12|not a frame", 1_700_000_999.5))
    write_spill(path, [spill_line(stream_id, f) for f in frames])


def test_import_puts_a_spill_back_once(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    make_recorded_database(db, events=5)
    spill = tmp_path / "unstored-20261130-061500.jsonl"
    spill_for(db, spill, range(4, 11))  # 4 and 5 are stored already
    with spill.open("a") as out:
        out.write('{"stream_id": 1, "seq": 11, "raw": "{"\n')  # a line cut short

    first = cli("import", "--db", str(db), str(spill))
    assert first.returncode == 0, first.stderr
    assert (
        "Read 8 frames from 1 file into " + str(db) + ": 5 events stored, 2 already there (duplicates), "
        "1 bad frames kept, 1 unreadable lines." in first.stderr
    )
    assert "line 9: not JSON" in first.stderr
    again = cli("import", "--db", str(db), str(spill), "-v")
    assert again.returncode == 0, again.stderr
    assert "0 events stored, 8 already there" in again.stderr
    with sqlite_file(db) as conn:
        assert [r[0] for r in conn.execute("select seq from events order by seq")] == list(range(1, 11))
        assert conn.execute("select count(*) from malformed_frames").fetchone()[0] == 1
        assert conn.execute("select last_seq from streams").fetchone()[0] == 10


def test_import_refuses_the_spill_of_another_database(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    make_recorded_database(db, events=1)
    spill = tmp_path / "other.jsonl"
    spill_for(db, spill, range(1, 3), stream_id=7)
    done = cli("import", "--db", str(db), str(spill))
    assert done.returncode == 2, done.stderr
    assert "stream id 7" in done.stderr and "belongs to another database" in done.stderr
    no_traceback(done)
    with sqlite_file(db) as conn:
        assert conn.execute("select count(*) from events").fetchone()[0] == 1


# -- database passwords -------------------------------------------------------


def mysql_url() -> str:
    url = os.environ.get("AYLA_TEST_MYSQL_URL")
    if not url:
        pytest.skip("AYLA_TEST_MYSQL_URL is not set: MySQL/MariaDB tests need a server")
    return url


@pytest.mark.mysql
def test_the_mysql_password_comes_from_a_file_or_the_environment_and_is_masked(tmp_path: Path) -> None:
    url = mysql_url()
    parts = urlsplit(url)
    assert parts.password is None, "the test server's user has no password"
    secret = "n0t-th3-r1ght-pw"
    password_file = tmp_path / "pw"
    password_file.write_text(secret + "\n")
    # The test user has no password: refused with one, so a refusal proves the password was used.
    by_file = cli("export", "--db", url, "--db-password-file", str(password_file))
    by_env = cli("export", "--db", url, env={"AYLA_DB_PASSWORD": secret})
    for done in (by_file, by_env):
        assert done.returncode == 4, done.stderr
        assert f"refused user {parts.username!r}" in done.stderr
        assert secret not in done.stderr
        no_traceback(done)
    # and without one the same user gets in (it may find no tables: other tests drop them)
    plain = cli("export", "--db", url, "--malformed", env={"AYLA_DB_PASSWORD": ""})
    assert "refused user" not in plain.stderr, plain.stderr


#: MySQL's "any host", its % doubled for PyMySQL's own formatting of the statement.
ANY_HOST = "'%%'"


@pytest.fixture
def mysql_user_with_password() -> Iterator[tuple[str, str]]:
    """A MySQL user that needs a password: (its URL without the password, the password)."""
    from ayla_monitor.store.connection import make_database

    url = mysql_url()
    parts = urlsplit(url)
    user, secret = f"ayla_pw_{os.getpid()}", f"pw-{os.urandom(6).hex()}"
    admin = make_database(url)
    admin.connect()
    try:
        admin.execute_sql(f"CREATE USER '{user}'@{ANY_HOST} IDENTIFIED BY '{secret}'")
        admin.execute_sql(f"GRANT ALL ON `{parts.path.strip('/')}`.* TO '{user}'@{ANY_HOST}")
        yield f"mysql://{user}@{parts.hostname}:{parts.port or 3306}{parts.path}", secret
    finally:
        admin.execute_sql(f"DROP USER IF EXISTS '{user}'@{ANY_HOST}")
        admin.close()


def command_lines() -> list[str]:
    """Every process's command line, as ``ps`` shows them to any user."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue  # the process ended
    return found


@pytest.mark.mysql
def test_a_recorder_with_a_password_file_never_shows_the_password(
    tmp_path: Path, mysql_user_with_password: tuple[str, str]
) -> None:
    url, secret = mysql_user_with_password
    password_file = tmp_path / "db-password"
    password_file.write_text(secret + "\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    simulator = subprocess.Popen(
        [sys.executable, "-m", "ayla_monitor", "simulate", "--port", "0", "--rate", "0", "--prefill", "30"]
        + ["--keys", KEY, "--heartbeat", "0.2"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert simulator.stderr is not None
        stream = simulator.stderr.readline().strip().split(" on ", 1)[1]
        recorder = subprocess.Popen(
            [sys.executable, "-m", "ayla_monitor", "record", "--url", stream, "--stream-key", KEY]
            + ["--db", url, "--db-password-file", str(password_file), "--seq-start", "1", "--seq-end", "30"],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        seen: list[str] = []
        while recorder.poll() is None:  # the recorder and its writer process, while they run
            seen += [line for line in command_lines() if "ayla_monitor" in line or "multiprocessing" in line]
        _, err = recorder.communicate(timeout=180)
    finally:
        simulator.terminate()
        simulator.communicate(timeout=60)
    assert recorder.returncode == 0, err
    assert "Received 30 frames" in err  # and exit 0: all of them stored, none spilled
    assert any("--db-password-file" in line for line in seen)  # the watch did see the recorder
    assert not [line for line in seen if secret in line]
    assert secret not in err and url in err.replace(":***@", "@")  # named, password masked


def test_password_options_that_cannot_work_are_command_line_errors(tmp_path: Path) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("s3cret\n")
    empty = tmp_path / "empty"
    empty.write_text("")
    cases = [
        (
            ["--db", str(tmp_path / "e.sqlite"), "--db-password-file", str(password_file)],
            "SQLite database has none",
        ),
        (["--db", "mysql://u:x@127.0.0.1:1/d", "--db-password-file", str(password_file)], "given twice"),
        (["--db", "mysql://u@127.0.0.1:1/d", "--db-password-file", str(empty)], "is empty"),
        (["--db", "mysql://u@127.0.0.1:1/d", "--db-password-file", str(tmp_path / "no")], "cannot read"),
    ]
    for args, message in cases:
        done = cli("export", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "s3cret" not in done.stderr
        no_traceback(done)


# -- logging ------------------------------------------------------------------


def test_verbose_and_log_file_after_the_command(tmp_path: Path) -> None:
    log_file = tmp_path / "service.log"
    db = tmp_path / "events.sqlite"
    make_recorded_database(db, events=2)
    done = cli("export", "-vv", "--log-file", str(log_file), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert log_file.exists()
    bad = cli("export", "--log-file", str(tmp_path / "no" / "such" / "x.log"), "--db", str(db))
    assert bad.returncode == 2 and "cannot write the log file" in bad.stderr


def test_the_log_file_never_holds_the_key(tmp_path: Path, redirecting_server: int) -> None:
    log_file = tmp_path / "service.log"
    done = cli(
        "record",
        "-vv",
        "--log-file",
        str(log_file),
        "--url",
        f"ws://127.0.0.1:{redirecting_server}/stream",
        "--stream-key",
        KEY,
        "--db",
        str(tmp_path / "e.sqlite"),
        "--proxy",
        "",
    )
    assert done.returncode == 2, done.stderr
    text = log_file.read_text()
    assert "DEBUG" in text and "websockets.client" in text  # the handshake was logged, in detail
    assert KEY not in text and KEY not in done.stderr
