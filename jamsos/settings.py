"""Every setting of every `jamsos` process, in one place.

Each process builds one `Settings` at start-up from `JAMSOS_*` environment variables, with
command-line flags passed in as overrides (flags win). The defaults are the endpoints of the
local stack (`jamsos stack up`), so that every command talks to it without configuration.
Secrets are `SecretStr`: they print as `**********` and never reach a log line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from jamsos.rules.clock import DEFAULT_MAX_TICK_ADVANCE_DAYS
from jamsos.rules.holding import DEFAULT_HOLD_DAYS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package runs from (an editable install); the stack's data lives below."""

KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
Account = Literal["writer", "refresher", "reader"]
"""The jamsos ClickHouse accounts besides the migrator: the sinks' insert-only
`jamsos_writer`, the KPI refresh's `jamsos_refresher` (reads the register, writes only the
aggregates), the dashboards' read-only `jamsos_reader`."""
ACCOUNTS: tuple[Account, ...] = ("writer", "refresher", "reader")
LOCAL_NIK_SECRET_FILE = "secrets/nik-secret"
"""Where, under the state directory, the local stack keeps the random NIK key it made."""
LOCAL_ACCOUNT_PASSWORD_FILES: dict[Account, str] = {
    role: f"secrets/clickhouse-{role}-password" for role in ACCOUNTS
}
"""Where, under the state directory, the local stack keeps the random passwords it made
for ClickHouse's jamsos accounts."""


def _default_state_dir() -> Path:
    """`.jamsos/` in the checkout when run from one, else in the working directory."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / ".jamsos"
    return Path.cwd() / ".jamsos"


class Settings(BaseSettings):
    """Typed settings; field `x` is read from `JAMSOS_X` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="JAMSOS_", frozen=True, extra="ignore")

    # -- local stack ---------------------------------------------------------------------
    state_dir: Path = Field(default_factory=_default_state_dir)
    """Where the local stack keeps jars, data, logs and pid files (git-ignored)."""
    stack_timeout: float = 180.0
    """Seconds `stack up` waits for each server to become ready before it gives up."""
    stack_min_free_disk: int = 2 * 1024**3
    """Bytes that must be free under `state_dir` for `stack up` to start servers."""
    kafka_version: str = "4.4.0"
    kafka_controller_port: int = 19093
    kafka_heap: str = "1g"
    kafka_brokers: int = Field(default=1, ge=1, le=9)
    """Kafka nodes the local stack runs (each broker and controller): 3 makes a cluster on
    loopback, node n on the ports of node 1 plus 10 * (n - 1)."""
    kafka_partitions: int = Field(default=4, gt=0)
    """Partitions of every topic the project creates (input, output, changelog)."""
    kafka_replication_factor: int = Field(default=1, gt=0)
    """Copies of every topic the project creates: 1 on the one-broker local stack, 3 on a
    production cluster."""
    kafka_min_insync_replicas: int | None = Field(default=None, gt=0)
    """`min.insync.replicas` of every topic the project creates (every producer writes with
    acks=all): with 3 copies, 2 keeps writing through one broker down and loses no
    acknowledged write; unset, the broker's default."""
    kafka_cluster_id: str | None = None
    """KRaft cluster id for a storage folder formatted for the first time; random if unset."""

    stack_secure: bool = False
    """Run, and talk to, the local stack secured: Kafka on SASL_SSL with SCRAM and ACLs per
    service, ClickHouse and the registry on TLS with passwords, all signed by a CA the stack
    makes (`jamsos.stack.tls`). Every connection setting below that is not given then
    defaults to that stack's own files (`jamsos.connect`)."""
    kafka_internal_port: int = 19094
    """The secured local broker's broker-to-broker listener (TLS with client certificates)."""

    # -- Kafka ---------------------------------------------------------------------------
    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_security_protocol: KafkaProtocol | None = None
    """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; unset, PLAINTEXT (SASL_SSL on the
    secured local stack)."""
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_username: str | None = None
    """This process's Kafka principal (each service its own: worker, sink, publisher)."""
    kafka_password: SecretStr | None = None
    kafka_ssl_ca_file: Path | None = None
    """PEM file of the CA that signed the brokers' certificates; unset, the system's CAs."""
    kafka_ssl_cert_file: Path | None = None
    """PEM client certificate, for clusters that authenticate clients by certificate."""
    kafka_ssl_key_file: Path | None = None
    topic_prefix: str = ""
    """Prepended to every topic name; tests and demo runs use it to stay apart."""
    topic_retention_days: int = Field(default=400, gt=0)
    """Retention of the topics the project creates: a 12-month replay after a rule change,
    plus the month before it, plus margin (the broker default is 7 days)."""

    # -- schema registry -----------------------------------------------------------------
    registry_url: str = "http://127.0.0.1:18081/apis/ccompat/v7"
    """Base URL of the Confluent-compatible schema registry API (https:// for TLS)."""
    registry_username: str | None = None
    """Basic-auth user of the registry; unset, no authentication."""
    registry_password: SecretStr | None = None
    registry_ca_file: Path | None = None
    """PEM file of the CA that signed the registry's certificate; unset, the system's CAs."""

    # -- ClickHouse ----------------------------------------------------------------------
    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = 19000
    clickhouse_http_port: int = 18123
    clickhouse_database: str = "jamsos"
    clickhouse_cluster: str | None = None
    """A ClickHouse cluster (`remote_servers`): the migrations then create every table as a
    Replicated*MergeTree and run their DDL `ON CLUSTER` it (`jamsos.warehouse.cluster`)."""
    clickhouse_replicas: int = Field(default=1, ge=1, le=3)
    """ClickHouse servers the local stack runs, one shard of that many replicas (with a
    ZooKeeper); server n on the ports of server 1 plus 10 * (n - 1)."""
    zookeeper_port: int = 12181
    """The local ZooKeeper's client port (run only when there are ClickHouse replicas)."""
    clickhouse_user: str = "default"
    """The migrator: the one account that runs DDL (`jamsos db migrate`, the demo's set-up)."""
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_secure: bool | None = None
    """Connect over TLS (ClickHouse's `tcp_port_secure`); unset, only on the secured stack."""
    clickhouse_verify: bool = True
    """Check the server's certificate and host name (never turn off outside a test)."""
    clickhouse_ca_file: Path | None = None
    """PEM file of the CA that signed ClickHouse's certificate; unset, the system's CAs."""
    clickhouse_cert_file: Path | None = None
    """PEM client certificate, for servers that authenticate clients by certificate."""
    clickhouse_key_file: Path | None = None

    # -- rules ---------------------------------------------------------------------------
    lapse_months: int = 3
    max_tick_advance_days: int = Field(default=DEFAULT_MAX_TICK_ADVANCE_DAYS, gt=0)
    """Most days one `BusinessDayClosed` may move the business date forward (events.md,
    Bounds); a tick further ahead is a dead letter."""
    hold_days: int = Field(default=DEFAULT_HOLD_DAYS, ge=0)
    """Business days an event waits for its member's enrolment, or a reversal for its
    payment, before it becomes a dead letter (events.md; `jamsos.rules.holding`)."""
    nik_secret: SecretStr | None = None
    """Key of the NIK hash (`nik_token`). Required unless the target is the local stack."""

    # -- worker --------------------------------------------------------------------------
    worker_batch_events: int = Field(default=2000, gt=0)
    """Inbox messages a worker handles as one batch: table writes are staged and written
    once per key, share updates merged per agent, and the batch's outputs acknowledged by
    Kafka before its offsets are (see `streams.staging`)."""
    worker_batch_seconds: float = Field(default=0.05, gt=0)
    """Longest wait for a batch to fill before it is handled as it is."""
    worker_session_timeout: float = Field(default=10.0, gt=0)
    """Seconds without a heartbeat after which Kafka gives a dead worker's partitions to
    the others (a worker restarted under the same name takes them back at once)."""

    # -- observability -------------------------------------------------------------------
    metrics_port: int = Field(default=0, ge=0)
    """Port of `/metrics`, `/healthz` and `/readyz` of a worker or sink (0: not served)."""
    metrics_host: str = "127.0.0.1"
    """Address they listen on (0.0.0.0 in a pod, where probes come from outside)."""

    # -- sink ----------------------------------------------------------------------------
    sink_batch_rows: int = Field(default=5000, gt=0)
    """Buffered rows (all tables) that make the ClickHouse sink flush at once."""
    sink_flush_seconds: float = Field(default=1.0, gt=0)
    """Longest time a buffered row waits before the sink flushes it."""
    sink_commit_seconds: float = Field(default=0.0, ge=0)
    """Least time between Kafka offset commits; 0 commits after every flush. Offsets are
    only ever committed for rows ClickHouse has accepted, so a longer interval means more
    re-delivery after a crash (harmless: the tables collapse copies), fewer commits."""
    sink_group: str = "jamsos-sink"
    """Kafka consumer group of the ClickHouse sinks."""
    sink_retry_initial: float = Field(default=0.5, gt=0)
    sink_retry_max: float = Field(default=30.0, gt=0)
    """Back-off between attempts to insert into an unavailable ClickHouse: doubles from
    `sink_retry_initial` up to `sink_retry_max` seconds."""
    sink_insert_timeout: float = Field(default=30.0, gt=0)
    """Seconds a ClickHouse request may take before the sink counts it as failed."""
    clickhouse_writer_password: SecretStr | None = None
    """Password of `jamsos_writer`, the sinks' insert-only user (local stack: users.xml)."""
    clickhouse_reader_password: SecretStr | None = None
    """Password of `jamsos_reader`, the dashboards' read-only user."""
    clickhouse_refresher_password: SecretStr | None = None
    """Password of `jamsos_refresher`, the account the sinks' KPI refresh runs as."""
    kpi_refresh_seconds: float = Field(default=30.0, ge=0)
    """Seconds between the sink's refreshes of the pre-aggregated KPI tables (0: the sink
    never refreshes them; `jamsos db refresh-kpis` does). Each refresh recounts the
    register (`jamsos.warehouse.kpi`), so at tens of millions of members keep this at a
    minute or more."""
    kpi_active_target: int = Field(default=35_000_000, gt=0)
    """Active-members target the KPI views measure progress against (`jamsos db migrate`)."""

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build from the environment; `overrides` (from flags) win. `None` means "not given"."""
        given = {name: value for name, value in overrides.items() if value is not None}
        return cls(**given)

    # -- derived values ------------------------------------------------------------------
    @property
    def kafka_port(self) -> int:
        """The broker port of `kafka_bootstrap` (its first address)."""
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def registry_port(self) -> int:
        """The port of `registry_url`."""
        parsed = urlparse(self.registry_url)
        return parsed.port or (443 if parsed.scheme == "https" else 80)

    @property
    def targets_local_stack(self) -> bool:
        """True when Kafka is the loopback broker the local stack runs."""
        host = self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[0]
        return host in {"127.0.0.1", "localhost", "::1"}

    def topic(self, name: str) -> str:
        """The physical topic name of contract topic `name`."""
        return f"{self.topic_prefix}{name}"

    @property
    def local_nik_secret_file(self) -> Path:
        """The local stack's own NIK key (random, made by `jamsos stack up`, mode 0600)."""
        return self.state_dir / LOCAL_NIK_SECRET_FILE

    def local_account_password_file(self, role: Account) -> Path:
        """The local stack's own password of `jamsos_<role>` (random, mode 0600)."""
        return self.state_dir / LOCAL_ACCOUNT_PASSWORD_FILES[role]

    def account_password(self, role: Account) -> SecretStr | None:
        """Password of ClickHouse's `jamsos_<role>`: configured
        (`JAMSOS_CLICKHOUSE_<ROLE>_PASSWORD`), or, only when the target is the local stack,
        the random one that stack made; None when neither exists (the account is locked)."""
        configured = getattr(self, f"clickhouse_{role}_password")
        if isinstance(configured, SecretStr) and configured.get_secret_value():
            return configured
        if not self.targets_local_stack:
            return None
        try:
            return SecretStr(self.local_account_password_file(role).read_text().strip())
        except FileNotFoundError:
            return None

    def nik_key(self) -> bytes:
        """The NIK hashing key: `JAMSOS_NIK_SECRET`, or, only when the target is the local
        stack, the random key that stack made. Never a constant: a key anyone can read
        would let anyone reverse the tokens by trying every NIK."""
        if self.nik_secret is not None and self.nik_secret.get_secret_value():
            return self.nik_secret.get_secret_value().encode()
        if not self.targets_local_stack:
            raise ValueError("JAMSOS_NIK_SECRET is required outside the local stack")
        try:
            return self.local_nik_secret_file.read_bytes().strip()
        except FileNotFoundError:
            raise ValueError(
                f"JAMSOS_NIK_SECRET is not set and the local stack has no key at "
                f"{self.local_nik_secret_file}: run `jamsos stack up` or set it"
            ) from None

    def endpoints(self) -> dict[str, Any]:
        """What other processes need to reach the stack (no secrets)."""
        return {
            "kafka": {"bootstrap_servers": self.kafka_bootstrap},
            "schema_registry": {"url": self.registry_url},
            "clickhouse": {
                "host": self.clickhouse_host,
                "tcp_port": self.clickhouse_port,
                "http_port": self.clickhouse_http_port,
                "database": self.clickhouse_database,
                "user": self.clickhouse_user,
            },
        }
