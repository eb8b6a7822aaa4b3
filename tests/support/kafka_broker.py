"""A real single-node Apache Kafka broker (KRaft, combined broker+controller) for tests.

Runs the pinned broker jars that scripts/fetch-kafka.sh puts in
`.cache/kafka/<version>/libs/` with `java -cp 'libs/*' kafka.Kafka`: no Docker, no
distribution tarball, one JVM (~230 MB RSS). Everything lives in one run
directory: configs, `data/` (log.dirs), `tmp/` and `broker.out` (the broker's
stdout+stderr, appended across restarts, read by `tail()` for failure reports).

Start-up is bounded and checked: readiness is a TCP connect *and* a
`describe_cluster()` that returns our own cluster id, because a leftover broker
on the same port would otherwise pass for ours. The config values that make it
quick: `group.initial.rebalance.delay.ms=0` (a consumer group forms at once instead of
waiting 3 s for more members), `group.min.session.timeout.ms=1000` (tests may use short
sessions), and a short broker heartbeat and session (`broker.session.timeout.ms=3000`),
so a broker restarted after SIGKILL is fenced and back in ~6 s instead of ~15 s.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KAFKA_VERSION = os.environ.get("DW_KAFKA_VERSION", "4.3.1")
FETCH_SCRIPT = ROOT / "scripts" / "fetch-kafka.sh"

JVM_FLAGS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-UsePerfData",  # else a SIGKILL leaves hsperfdata_<user>/<pid> in /tmp
    "-Djava.awt.headless=true",
)

LOG4J2_PROPERTIES = """\
status = warn
shutdownHook = disable
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.utils.name = org.apache.kafka.common.utils
logger.utils.level = INFO
"""


class BrokerError(RuntimeError):
    """The test broker could not be fetched, formatted or started."""


def libs_dir(version: str = KAFKA_VERSION) -> Path:
    return ROOT / ".cache" / "kafka" / version / "libs"


def ensure_libs(version: str = KAFKA_VERSION, timeout: float = 900.0) -> Path:
    """The broker's jar directory, fetched with scripts/fetch-kafka.sh when missing."""
    libs = libs_dir(version)
    if (libs.parent / "libs.complete").exists():
        return libs
    env = {**os.environ, "DW_KAFKA_VERSION": version}
    try:
        result = subprocess.run(
            ["bash", str(FETCH_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BrokerError(f"{FETCH_SCRIPT.name} did not finish within {timeout:.0f}s") from None
    if result.returncode != 0:
        raise BrokerError(f"{FETCH_SCRIPT.name} failed ({result.returncode}):\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_cluster_id() -> str:
    """What `kafka-storage.sh random-uuid` prints, without a 3 s JVM start.

    Like Kafka's `Uuid.randomUuid()`, never one starting with "-": command-line
    parsers take it for an option (`format -t -xyz...` fails).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cid.startswith("-"):
            return cid


def _kill_at_exit(ref: weakref.ReferenceType[KafkaBroker]) -> None:
    broker = ref()
    if broker is not None:
        broker.stop(signal.SIGKILL, timeout=10)


class KafkaBroker:
    """One broker process on two free loopback ports, restartable on the same data."""

    def __init__(
        self,
        run_dir: Path,
        *,
        libs: Path | None = None,
        java: str | None = None,
        extra_config: Mapping[str, str] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.libs = libs if libs is not None else libs_dir()
        self.java = java or shutil.which("java") or "java"
        self.port = free_port()
        self.controller_port = free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.cluster_id = new_cluster_id()
        self.extra_config = dict(extra_config or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.start_seconds: list[float] = []  # per start, format included in the first
        self._formatted = False
        self.data_dir = run_dir / "data"
        self.log_path = run_dir / "broker.out"
        self.properties_path = run_dir / "server.properties"
        self.log4j_path = run_dir / "log4j2.properties"
        atexit.register(_kill_at_exit, weakref.ref(self))

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- configuration -------------------------------------------------------------

    def server_properties(self) -> dict[str, str]:
        listeners = (
            f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        )
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": listeners,
            "advertised.listeners": listeners,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "group.min.session.timeout.ms": "1000",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
        }
        props.update(self.extra_config)
        return props

    def _write_configs(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "tmp").mkdir(exist_ok=True)
        # One key=value per line and nothing else: Java properties have no inline comments,
        # a "# ..." after a value would become part of it.
        lines = [f"{key}={value}" for key, value in self.server_properties().items()]
        self.properties_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.log4j_path.write_text(LOG4J2_PROPERTIES, encoding="utf-8")

    def _java_base(self) -> list[str]:
        return [
            self.java,
            f"-Dlog4j2.configurationFile={self.log4j_path}",
            "-cp",
            f"{self.libs}/*",
        ]

    def format(self, timeout: float = 120.0) -> None:
        """`kafka-storage format --standalone` on the data dir (once per broker)."""
        if not (self.libs.parent / "libs.complete").exists():
            raise BrokerError(f"Kafka jars missing in {self.libs}; run scripts/fetch-kafka.sh")
        self._write_configs()
        cmd = [
            *self._java_base(),
            "-XX:-UsePerfData",
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={self.cluster_id}",
            "-c",
            str(self.properties_path),
            "--standalone",
        ]
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, cwd=self.run_dir, check=False
            )
        except FileNotFoundError as exc:
            raise BrokerError(f"cannot run java ({exc}); install a JDK 17+") from None
        except subprocess.TimeoutExpired:
            raise BrokerError(f"StorageTool format did not finish within {timeout:.0f}s") from None
        if result.returncode != 0:
            raise BrokerError(
                f"StorageTool format failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        self._formatted = True

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> float:
        """Start (formatting first if needed) and wait until ready; returns seconds taken."""
        if self.running:
            raise BrokerError("broker already running")
        began = time.monotonic()
        if not self._formatted:
            self.format()
        self.starts += 1
        with self.log_path.open("ab") as out:
            out.write(f"=== driftwarden test harness: start #{self.starts} ===\n".encode())
        out_handle = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                [
                    self.java,
                    *JVM_FLAGS,
                    f"-Djava.io.tmpdir={self.run_dir / 'tmp'}",
                    f"-Dlog4j2.configurationFile={self.log4j_path}",
                    "-cp",
                    f"{self.libs}/*",
                    "kafka.Kafka",
                    str(self.properties_path),
                ],
                stdout=out_handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.run_dir,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise BrokerError(f"cannot run java ({exc}); install a JDK 17+") from None
        finally:
            out_handle.close()
        self._wait_ready(began + timeout)
        self.start_seconds.append(time.monotonic() - began)
        return self.start_seconds[-1]

    def _wait_ready(self, deadline: float) -> None:
        from kafka import KafkaAdminClient

        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise BrokerError(
                    f"broker exited with status {self.proc.returncode} during start-up:\n"
                    f"{self.tail()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap,
                    bootstrap_timeout_ms=3000,
                    request_timeout_ms=5000,
                    client_id="test-harness-ready",
                )
                try:
                    cluster_id = admin.describe_cluster()["cluster_id"]
                finally:
                    admin.close()
            except Exception as exc:
                last_error = exc
                time.sleep(0.2)
                continue
            if cluster_id != self.cluster_id:
                raise BrokerError(
                    f"cluster {cluster_id} answers on {self.bootstrap}, not ours "
                    f"({self.cluster_id}): a leftover broker holds the port"
                )
            return
        self.stop(signal.SIGKILL)
        raise BrokerError(f"broker not ready in time (last error: {last_error!r}):\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Signal our own broker process (never by name); SIGKILL after `timeout`."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=10)
        self.proc = None
        return proc.returncode

    def restart(self, hard: bool = False, timeout: float = 90.0) -> float:
        """Stop (SIGKILL when `hard`, else SIGTERM) and start again on the same data and
        ports; returns the seconds the start took."""
        self.stop(signal.SIGKILL if hard else signal.SIGTERM)
        return self.start(timeout=timeout)

    def tail(self, n: int = 50) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return "(no broker output yet)"
        return "\n".join(lines[-n:])

    # --- admin helpers -------------------------------------------------------------------

    @contextlib.contextmanager
    def admin(self, timeout: float = 10.0) -> Iterator[Any]:
        from kafka import KafkaAdminClient

        client = KafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            bootstrap_timeout_ms=int(timeout * 1000),
            request_timeout_ms=int(timeout * 1000),
            client_id="test-harness-admin",
        )
        try:
            yield client
        finally:
            client.close()

    def create_topic(
        self, name: str, partitions: int = 3, configs: Mapping[str, str] | None = None
    ) -> None:
        spec: dict[str, Any] = {"num_partitions": partitions, "replication_factor": 1}
        if configs:
            spec["configs"] = dict(configs)
        with self.admin() as admin:
            admin.create_topics({name: spec}, timeout_ms=10_000, wait_for_metadata=True)

    def end_offsets(self, topic: str) -> dict[int, int]:
        """Partition -> end offset, read with a group-less consumer."""
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            bootstrap_timeout_ms=10_000,
            client_id="test-harness-offsets",
        )
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            return {tp.partition: off for tp, off in consumer.end_offsets(tps, 10_000).items()}
        finally:
            consumer.close(autocommit=False)
