"""clickhouse-driver clients built from Settings.

One place decides connection options: compression off (loopback and LAN inserts are
CPU-bound, not network-bound), timeouts short enough that an outage is noticed and retried
instead of hanging a sink, and the server's settings left alone.
"""

from __future__ import annotations

from clickhouse_driver import Client
from pydantic import SecretStr

from jamsos.connect import clickhouse_admin_password, clickhouse_tls
from jamsos.settings import Account, Settings

ACCOUNT_USERS: dict[Account, str] = {
    "writer": "jamsos_writer",
    "refresher": "jamsos_refresher",
    "reader": "jamsos_reader",
}
"""ClickHouse user names of the jamsos accounts (`deploy/clickhouse/users/`)."""


def make_client(
    settings: Settings, *, database: str | None = None, account: Account | None = None
) -> Client:
    """A client for `settings`' ClickHouse, on `database` if given: as the migrator
    (`clickhouse_user`, the only account with DDL) unless `account` names another — the
    sinks' insert-only `writer`, the dashboards' read-only `reader`.

    Without a database the client works on `default`; migrations use that to create the
    target database before anything else touches it.
    """
    password: SecretStr | None
    if account is None:
        user, password = settings.clickhouse_user, clickhouse_admin_password(settings)
    else:
        user, password = ACCOUNT_USERS[account], settings.account_password(account)
        if password is None:
            raise ValueError(
                f"no password for ClickHouse's {user}: set "
                f"JAMSOS_CLICKHOUSE_{account.upper()}_PASSWORD"
            )
    return Client(
        settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=user,
        password=password.get_secret_value(),
        database=database or "default",
        **clickhouse_tls(settings),
        connect_timeout=5,
        send_receive_timeout=settings.sink_insert_timeout,
        sync_request_timeout=5,
        client_name="jamsos",
    )
