"""The jamsos users on current ClickHouse (`deploy/clickhouse/users/grants.sql`).

ClickHouse 18.16 has no SQL access control; its users come from users.xml (the local
stack renders `deploy/local/clickhouse/users.xml.tmpl`). Current releases take the same two
users as SQL, rendered here with password hashes from the settings, so that no password is
ever written into the repository.
"""

from __future__ import annotations

import hashlib

from pydantic import SecretStr

from jamsos.settings import ACCOUNTS, PROJECT_ROOT, Settings
from jamsos.warehouse.client import ACCOUNT_USERS
from jamsos.warehouse.migrations import check_database_name, split_statements

GRANTS_FILE = PROJECT_ROOT / "deploy" / "clickhouse" / "users" / "grants.sql"
WRITER_USER = ACCOUNT_USERS["writer"]
READER_USER = ACCOUNT_USERS["reader"]


def _sha256(name: str, password: SecretStr | None) -> str:
    if password is None or not password.get_secret_value():
        raise ValueError(f"JAMSOS_CLICKHOUSE_{name}_PASSWORD is not set")
    return hashlib.sha256(password.get_secret_value().encode()).hexdigest()


def render_grants(settings: Settings, text: str | None = None) -> list[str]:
    """The statements of grants.sql for `settings`' database and passwords."""
    check_database_name(settings.clickhouse_database)
    values = {
        "{database}": settings.clickhouse_database,
        **{
            f"{{{role}_password_sha256}}": _sha256(role.upper(), settings.account_password(role))
            for role in ACCOUNTS
        },
    }
    statements = split_statements(GRANTS_FILE.read_text() if text is None else text)
    rendered = []
    for statement in statements:
        for placeholder, value in values.items():
            statement = statement.replace(placeholder, value)
        rendered.append(statement)
    return rendered
