"""The ClickHouse plugin's query and datasource reference, for `grafana-foundation-sdk`.

The SDK types Grafana's own objects and the queries of core datasources; the official
`grafana-clickhouse-datasource` plugin's query is not among them, so it is declared here
as the SDK declares its own (a `Dataquery` variant and its builder), with the fields the
plugin reads (its `src/types/sql.ts`: `editorType`, `rawSql`, `queryType`, `format`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

PLUGIN = "grafana-clickhouse-datasource"
DATASOURCE_UID = "jamsos-clickhouse"
DATASOURCE = DataSourceRef(type_val=PLUGIN, uid=DATASOURCE_UID)

QueryType = Literal["table", "timeseries"]
_FORMAT = {"timeseries": 0, "table": 1}
"""sqlds' result formats (`FormatOptionTimeSeries`, `FormatOptionTable`)."""


@dataclass
class ClickHouseQuery(cogvariants.Dataquery):
    """One SQL query of the ClickHouse plugin."""

    raw_sql: str
    ref_id: str = "A"
    query_type: QueryType = "table"

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": DATASOURCE.to_json(),
            "editorType": "sql",
            "format": _FORMAT[self.query_type],
            "queryType": self.query_type,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }


class SqlQuery(cogbuilder.Builder[ClickHouseQuery]):
    """Builder of a `ClickHouseQuery`, like the SDK's own query builders."""

    def __init__(self, sql: str) -> None:
        self._internal = ClickHouseQuery(sql)

    def build(self) -> ClickHouseQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def query_type(self, query_type: QueryType) -> Self:
        self._internal.query_type = query_type
        return self
