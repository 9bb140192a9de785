"""Private Kafka brokers and PostgreSQL clusters for fault tests.

A fault test restarts, stops or kills servers. It must never do that to the shared ones that
`make services-up` runs on 127.0.0.1:9092 and :5432 (other tests and processes use them), so it
starts its own here, on free ports, and drops them at teardown:

- `PrivateKafka`: a single KRaft node (broker and controller) from the jars scripts/kafka.sh
  cached, with its own ports, data directory and cluster id; restarts keep its log.
- `PrivatePostgres`: a Debian cluster made with `pg_createcluster` on a free port, with the
  role and database crm/crm like scripts/postgres.sh makes on the shared one.
- `Outage`: takes either of them down for a while in a background thread while the test
  keeps working.

Both server classes leave a trace of the pytest process that owns them (a JVM property, the
cluster's name), so a later run can reap what a killed run (SIGKILL, CI timeout) left behind.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
SHARED_PORTS = frozenset({5432, 9092, 9093})  # the shared services; never ours
OWNER_PROPERTY = "-Deventcrm.faults.owner="  # JVM flag naming the pytest pid that started a broker
CLUSTER_PREFIX = "faults_"  # private clusters are named faults_<owner pid>_<random>


class Closable(Protocol):
    def close(self) -> None: ...


# Servers not closed yet. Fixtures close theirs at teardown; this catches what they cannot
# (Ctrl-C between setup and teardown, a test that builds a server by hand and forgets it).
_LIVE: set[Closable] = set()


@atexit.register
def _close_leftovers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.close()


class ServerSetupError(RuntimeError):
    """A private server could not be provided (missing prerequisites, failed start)."""


class Restartable(Protocol):
    """What `Outage` needs of a server."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def kill(self) -> None: ...


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A port nothing listens on now. The kernel's choice, so parallel runs do not collide;
    the small race until the server binds it is accepted (a clash fails loudly at start)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in SHARED_PORTS:
            return port


def port_open(port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def tail(path: Path, lines: int = 40) -> str:
    """The end of a log, for failure messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log at {path}: {exc})"


# --------------------------------------------------------------------------- Kafka


def kafka_version() -> str:
    """The Kafka version scripts/kafka.sh resolves (from its pom.xml)."""
    pom = (SCRIPTS / "kafka" / "pom.xml").read_text()
    match = re.search(r"<kafka.version>(.+?)</kafka.version>", pom)
    if not match:
        raise ServerSetupError("no <kafka.version> in scripts/kafka/pom.xml")
    return match.group(1)


def kafka_libs() -> Path:
    """The jar directory scripts/kafka.sh fills; the same lookup, so both agree on it."""
    # bash's ${VAR:-default} treats an empty variable as unset; so does `or` here.
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cache = os.environ.get("EVENTCRM_CACHE") or f"{cache_home}/eventcrm"
    libs = Path(cache) / f"kafka-{kafka_version()}" / "libs"
    if not (libs / ".complete").is_file():
        raise ServerSetupError(f"Kafka jars are not cached in {libs}: run 'make services-up' first")
    if shutil.which("java") is None:
        raise ServerSetupError("java is not installed: run 'make services-up' first")
    return libs


def read_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            props[key.strip()] = value.strip()
    return props


def random_cluster_id() -> str:
    """What `kafka-storage random-uuid` prints: 16 random bytes, URL-safe base64, unpadded,
    never starting with "-" (Kafka draws again too: the tools would read it as an option)."""
    while True:
        drawn = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not drawn.startswith("-"):
            return drawn


class PrivateKafka:
    """A single-node KRaft broker+controller on free ports, for tests that take Kafka down.

    Ports, data directory and cluster id are fixed at construction, so `restart()` brings back
    the same broker, on the same bootstrap, with every record it had.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        heap: str = "512m",
        start_timeout: float = 60.0,
        stop_timeout: float = 20.0,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "kafka.log"
        self.config_path = self.base_dir / "server.properties"
        self.port = free_port()
        self.controller_port = free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.heap = heap
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.overrides = dict(overrides or {})
        self.cluster_id = random_cluster_id()
        self._proc: subprocess.Popen[bytes] | None = None
        self._formatted = False
        self._lock = threading.RLock()  # an Outage thread and the test may both drive it

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def properties(self) -> dict[str, str]:
        """The shared broker's settings (same topic defaults, replication factors 1, no
        automatic topic creation, no initial rebalance delay), on this broker's ports and
        data directory."""
        props = read_properties((SCRIPTS / "kafka" / "server.properties.in").read_text())
        props.update(
            {
                "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
                "controller.quorum.voters": f"{props.get('node.id', '1')}@127.0.0.1:{self.controller_port}",
                "log.dirs": str(self.data_dir),
                # After a SIGKILL the restarted broker is refused (DUPLICATE_BROKER_REGISTRATION)
                # until its previous incarnation's session expires: 9 s by default, which made
                # a start after kill() take ~18 s. Short, with heartbeats well inside it.
                "broker.heartbeat.interval.ms": "500",
                "broker.session.timeout.ms": "3000",
            }
        )
        props.update(self.overrides)
        return props

    def java_command(self, main: str, *args: str) -> list[str]:
        """scripts/kafka.sh's java arguments, with a smaller heap and the owner mark."""
        return [
            "java",
            "-Xms64m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{SCRIPTS / 'kafka' / 'log4j.properties'}",
            f"{OWNER_PROPERTY}{os.getpid()}",
            "-cp",
            f"{kafka_libs()}/*",  # java expands the wildcard itself
            main,
            *args,
        ]

    def _write_config(self) -> None:
        props = self.properties()
        text = "".join(f"{k}={v}\n" for k, v in props.items())
        for shared in SHARED_PORTS:
            # A typo here would bind or advertise a shared service's port: refuse it.
            if f":{shared}," in text or f":{shared}\n" in text:
                raise ServerSetupError(f"private broker config mentions shared port {shared}:\n{text}")
        self.config_path.write_text(text)

    def _format(self) -> None:
        """Formats the storage once, with this broker's own cluster id."""
        reap_orphan_brokers()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        command = self.java_command(
            "kafka.tools.StorageTool", "format", "-t", self.cluster_id, "-c", str(self.config_path)
        )
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise ServerSetupError(f"kafka storage format failed:\n{done.stdout}\n{done.stderr}")
        self._formatted = True
        _LIVE.add(self)

    def start(self, timeout: float | None = None) -> None:
        """Starts the broker (formatting it the first time) and waits until it answers."""
        with self._lock:
            if self.is_running():
                return
            if not self._formatted:
                self._format()
            if port_open(self.port) or port_open(self.controller_port):
                raise ServerSetupError(f"port {self.port} or {self.controller_port} is taken by something else")
            with self.log_path.open("ab") as log:
                log.write(f"\n==== start at {time.strftime('%H:%M:%S')} ====\n".encode())
                log.flush()
                # Own session: signals meant for pytest (Ctrl-C) do not reach the broker, and
                # kill() can take the whole process group.
                self._proc = subprocess.Popen(
                    self.java_command("kafka.Kafka", str(self.config_path)),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._wait_ready(self.start_timeout if timeout is None else timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # The port check first: a closed port fails at once, the admin client only after its
        # bootstrap timeout.
        while not (port_open(self.port) and kafka_answers(self.bootstrap, timeout=2.0)):
            if not self.is_running():
                raise ServerSetupError(f"private Kafka exited while starting:\n{tail(self.log_path)}")
            if time.monotonic() >= deadline:
                self.kill()
                raise ServerSetupError(f"private Kafka did not answer within {timeout:.0f}s:\n{tail(self.log_path)}")
            time.sleep(0.2)

    def stop(self, timeout: float | None = None) -> None:
        """A clean shutdown (SIGTERM), SIGKILL if it takes longer than the deadline."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                return
            proc.terminate()
            try:
                proc.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown hooks, the log recovered at the next start."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def restart(self, *, hard: bool = False) -> None:
        with self._lock:
            self.kill() if hard else self.stop()
            self.start()

    def close(self) -> None:
        """Teardown: the process is gone afterwards, whatever state it was in."""
        with self._lock:
            try:
                self.stop(timeout=10)
            finally:
                self.kill()
                _LIVE.discard(self)

    def __enter__(self) -> PrivateKafka:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kafka_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    """True when a broker at `bootstrap` answers a metadata request and knows its controller:
    the same test as scripts/kafka_ready.py, plus the controller, which topic creation needs."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaConfigurationError, KafkaError

    timeout_ms = int(timeout * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except KafkaConfigurationError:
        raise  # our mistake, not a broker that is down
    except (KafkaError, OSError, ValueError):
        return False
    try:
        cluster = admin.describe_cluster()
        return bool(cluster.get("brokers")) and cluster.get("controller_id", -1) != -1
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()


def reap_orphan_brokers() -> None:
    """Kills private brokers whose pytest process no longer exists (it was SIGKILLed before its
    teardown ran). Only JVMs carrying our owner mark are touched, never the shared broker."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        marks = [a.decode() for a in args if a.startswith(OWNER_PROPERTY.encode())]
        if not marks:
            continue
        owner = int(marks[0].removeprefix(OWNER_PROPERTY))
        if owner != os.getpid() and not pid_alive(owner):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


# --------------------------------------------------------------------------- PostgreSQL


def as_root(command: Sequence[str]) -> list[str]:
    """Like scripts/lib.sh's as_root; `sudo -n` so a password prompt fails instead of hanging."""
    if os.geteuid() == 0:
        return list(command)
    if shutil.which("sudo") is None:
        raise ServerSetupError(f"need root (or sudo) to run: {' '.join(command)}")
    return ["sudo", "-n", *command]


def as_postgres(command: Sequence[str]) -> list[str]:
    """Like scripts/postgres.sh's as_postgres."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return ["sudo", "-n", "-u", "postgres", *command]


def postgres_version() -> str:
    """The newest server under /usr/lib/postgresql, as scripts/postgres.sh picks it."""
    base = Path("/usr/lib/postgresql")
    versions = [p.name for p in base.iterdir() if (p / "bin" / "postgres").exists()] if base.is_dir() else []
    if not versions or shutil.which("pg_createcluster") is None:
        raise ServerSetupError("PostgreSQL (Debian's postgresql-common) is not installed: run 'make services-up' first")
    return max(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def run(command: Sequence[str], *, timeout: float, stdin: str | None = None, what: str) -> str:
    """Runs a provisioning command from / (the postgres user cannot enter the checkout);
    any failure is a loud ServerSetupError carrying the command's output."""
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, cwd="/", check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerSetupError(f"{what}: `{' '.join(command)}` took longer than {timeout:.0f}s") from exc
    if done.returncode != 0:
        raise ServerSetupError(f"{what}: `{' '.join(command)}` failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def list_clusters() -> list[tuple[str, str, str]]:
    """(version, name, status) of every Debian cluster on this machine."""
    out = run(["pg_lsclusters", "--no-header"], timeout=30, what="listing clusters")
    return [(f[0], f[1], f[3]) for f in (line.split() for line in out.splitlines()) if len(f) >= 4]


def reap_orphan_clusters() -> None:
    """Drops private clusters whose pytest process no longer exists. Only our naming pattern
    is touched, never 'main' or anyone else's cluster."""
    pattern = re.compile(rf"^{CLUSTER_PREFIX}(\d+)_[0-9a-f]+$")
    for version, name, _ in list_clusters():
        match = pattern.match(name)
        if match and int(match.group(1)) != os.getpid() and not pid_alive(int(match.group(1))):
            with contextlib.suppress(ServerSetupError):
                run(as_root(["pg_dropcluster", "--stop", version, name]), timeout=60, what="reaping")


# listen_addresses keeps its default, localhost (127.0.0.1 and ::1): pg_createcluster -o would
# write 127.0.0.1 unquoted (it looks like a number to it), which postgresql.conf rejects.
PG_SETTINGS = {
    "shared_buffers": "32MB",
    "max_connections": "100",
    # Short shutdowns: a fast stop does not wait for a long checkpoint.
    "max_wal_size": "64MB",
}

CREATE_CRM = """
CREATE ROLE crm WITH LOGIN CREATEDB PASSWORD 'crm';
CREATE DATABASE crm OWNER crm;
"""


class PrivatePostgres:
    """A Debian PostgreSQL cluster of its own on a free port, with crm/crm and database crm.

    The first `start()` creates it; `drop()` (teardown) removes it with its data.
    """

    def __init__(
        self,
        *,
        version: str | None = None,
        settings: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.version = version or postgres_version()
        self.name = f"{CLUSTER_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.settings = {**PG_SETTINGS, **(settings or {})}
        self.timeout = timeout
        self.log_path = Path(f"/var/log/postgresql/postgresql-{self.version}-{self.name}.log")
        self._created = False
        self._provisioned = False  # role and database crm exist
        self._lock = threading.RLock()

    @property
    def dsn(self) -> str:
        return f"postgresql://crm:crm@127.0.0.1:{self.port}/crm"

    def _ctl(self, action: str, *options: str) -> None:
        # Skip the redirect to systemctl (taken as root when systemd runs): systemd would
        # turn an immediate stop into a fast one and supervise a cluster it should not.
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", *options, self.version, self.name, action]
        try:
            run(as_root(command), timeout=self.timeout, what=f"pg_ctlcluster {action}")
        except ServerSetupError as exc:
            raise ServerSetupError(f"{exc}\n{tail(self.log_path)}") from None

    def _create(self) -> None:
        reap_orphan_clusters()
        options = [opt for key, value in self.settings.items() for opt in ("-o", f"{key}={value}")]
        command = [
            "pg_createcluster",
            "--start-conf=manual",  # never started at boot: it is a test's, not the machine's
            "-p",
            str(self.port),
            *options,
            self.version,
            self.name,
            "--",
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
            # initdb's final fsync of the new cluster took seconds; a test cluster does not need
            # to survive a machine crash (only the server's, which the page cache covers).
            "--no-sync",
        ]
        run(as_root(command), timeout=self.timeout, what="pg_createcluster")
        self._created = True
        _LIVE.add(self)

    def _create_crm(self) -> None:
        psql = ["psql", "-v", "ON_ERROR_STOP=1", "-qAtX", "-p", str(self.port), "-d", "postgres"]
        run(as_postgres(psql), stdin=CREATE_CRM, timeout=self.timeout, what="creating role and database crm")

    def is_running(self) -> bool:
        return any(n == self.name and s == "online" for _, n, s in list_clusters())

    def start(self) -> None:
        """Creates the cluster the first time, starts it and waits until crm can log in."""
        with self._lock:
            if not self._created:
                self._create()
            if not self.is_running():
                # Returns once the server accepts connections; pg_ctlcluster's own readiness
                # probe makes this take >= 2 s even when the server is up in 0.2 s.
                self._ctl("start")
            if not self._provisioned:
                self._create_crm()
                self._provisioned = True

    def stop(self) -> None:
        """A clean shutdown (fast mode: open sessions are ended, a checkpoint is written)."""
        with self._lock:
            if self._created and self.is_running():
                self._ctl("stop", "-m", "fast")

    def kill(self) -> None:
        """A crash: immediate mode (no checkpoint; the next start replays the WAL). Chosen over
        SIGKILL of the postmaster, whose orphaned backends would block the next start."""
        with self._lock:
            if self._created and self.is_running():
                self._ctl("stop", "-m", "immediate")

    def restart(self, *, hard: bool = False) -> None:
        with self._lock:
            self.kill() if hard else self.stop()
            self.start()

    def drop(self, *, keep_log: Path | None = None) -> None:
        """Teardown: stops the cluster and deletes it with its data, configuration and log
        (copied to `keep_log` first, for the test's report)."""
        with self._lock:
            if not self._created:
                return
            if keep_log is not None:
                with contextlib.suppress(OSError):
                    shutil.copyfile(self.log_path, keep_log)
            with contextlib.suppress(ServerSetupError):
                self.kill()  # nothing to keep: skip the fast stop's checkpoint
            run(as_root(["pg_dropcluster", "--stop", self.version, self.name]), timeout=60, what="pg_dropcluster")
            self._created = False
            _LIVE.discard(self)

    def close(self) -> None:
        self.drop()

    def __enter__(self) -> PrivatePostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


# --------------------------------------------------------------------------- outages


class Outage:
    """Takes a server down for `seconds` in a background thread, then starts it again, while
    the test keeps working in its own thread. Every wait is bounded.

        with Outage(private_kafka, seconds=5) as outage:
            outage.wait_down(timeout=30)
            ...  # requests here see the outage
            outage.wait_up(timeout=90)

    `after` delays the outage (so load is already running); `kill=True` crashes the server
    instead of stopping it cleanly. Leaving the block waits (at most `join_timeout`) for the
    server to be back, and re-raises what went wrong in the thread.
    """

    def __init__(
        self,
        server: Restartable,
        seconds: float,
        *,
        after: float = 0.0,
        kill: bool = False,
        join_timeout: float = 120.0,
    ) -> None:
        self.server = server
        self.seconds = seconds
        self.after = after
        self.kill = kill
        self.join_timeout = join_timeout
        self.down_at: float | None = None  # time.monotonic() once the server is down
        self.up_at: float | None = None  # time.monotonic() once it answers again
        self.error: BaseException | None = None
        self._down = threading.Event()
        self._up = threading.Event()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outage", daemon=True)

    @property
    def over(self) -> bool:
        return self._up.is_set()

    @property
    def downtime(self) -> float | None:
        """Seconds from down to answering again (includes the server's start time)."""
        return None if self.down_at is None or self.up_at is None else self.up_at - self.down_at

    def _run(self) -> None:
        try:
            if self._cancel.wait(self.after):
                return
            self.server.kill() if self.kill else self.server.stop()
            self.down_at = time.monotonic()
            self._down.set()
            self._cancel.wait(self.seconds)  # cancelled: come back early
            self.server.start()
            self.up_at = time.monotonic()
        except BaseException as exc:  # handed to the test thread, never lost in this one
            self.error = exc
        finally:
            self._down.set()
            self._up.set()

    def _wait(self, event: threading.Event, what: str, timeout: float) -> None:
        if not event.wait(timeout):
            raise TimeoutError(f"server not {what} within {timeout:.0f}s")
        if self.error is not None:
            raise ServerSetupError(f"the outage thread failed: {self.error!r}") from self.error

    def wait_down(self, timeout: float = 60.0) -> None:
        self._wait(self._down, "down", timeout)

    def wait_up(self, timeout: float = 120.0) -> None:
        self._wait(self._up, "back up", timeout)

    def start(self) -> Outage:
        self._thread.start()
        return self

    def end(self, *, cancel: bool = False) -> None:
        """Waits for the server to be back; `cancel` shortens the outage (used when the test
        body failed, so teardown does not sit out the rest of it)."""
        if cancel:
            self._cancel.set()
        self._thread.join(self.join_timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the outage thread did not finish within {self.join_timeout:.0f}s")
        if self.error is not None:
            raise ServerSetupError(f"the outage thread failed: {self.error!r}") from self.error

    def __enter__(self) -> Outage:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.end()
        else:
            # The body's exception is the one to report; still bring the server back.
            with contextlib.suppress(Exception):
                self.end(cancel=True)
