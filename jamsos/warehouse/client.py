"""clickhouse-driver clients built from Settings.

One place decides connection options: compression off (loopback and LAN inserts are
CPU-bound, not network-bound), timeouts short enough that an outage is noticed and retried
instead of hanging a sink, and the server's settings left alone.
"""

from __future__ import annotations

from clickhouse_driver import Client

from jamsos.settings import Settings


def make_client(settings: Settings, *, database: str | None = None) -> Client:
    """A client for `settings`' ClickHouse as `clickhouse_user`, on `database` if given.

    Without a database the client works on `default`; migrations use that to create the
    target database before anything else touches it.
    """
    return Client(
        settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        database=database or "default",
        connect_timeout=5,
        send_receive_timeout=settings.sink_insert_timeout,
        sync_request_timeout=5,
        client_name="jamsos",
    )
