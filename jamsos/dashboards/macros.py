"""Expanding a panel's SQL the way Grafana and its ClickHouse plugin do before it runs.

Only what the jamsos queries use: the plugin's `$__dateFilter(column)` and
`$__timeFilter(column)` (as in the plugin's `pkg/macros/macros.go`) and template variables
as `${name:singlequote}` (multi-value, each value quoted and comma-separated) or `${name}`.
Used by the checks that run every generated query on ClickHouse, so they run what Grafana
would send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

_DATE_FILTER = re.compile(r"\$__dateFilter\(\s*([^)]+?)\s*\)")
_TIME_FILTER = re.compile(r"\$__timeFilter\(\s*([^)]+?)\s*\)")
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}")


class UnknownVariableError(KeyError):
    """A query names a variable the dashboard does not define."""


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def expand(sql: str, start: datetime, end: datetime, variables: Mapping[str, Sequence[str]]) -> str:
    """`sql` with macros for the range `start`..`end` and `variables` (name -> values)."""

    def date_filter(match: re.Match[str]) -> str:
        column = match.group(1)
        return (
            f"{column} >= toDate('{date.isoformat(start.date())}') AND "
            f"{column} <= toDate('{date.isoformat(end.date())}')"
        )

    def time_filter(match: re.Match[str]) -> str:
        column = match.group(1)
        return (
            f"{column} >= toDateTime({int(start.timestamp())}) AND "
            f"{column} <= toDateTime({int(end.timestamp())})"
        )

    def variable(match: re.Match[str]) -> str:
        name, form = match.group(1), match.group(2)
        if name not in variables:
            raise UnknownVariableError(name)
        values = list(variables[name])
        if form == "singlequote":
            return ",".join(_quoted(v) for v in values) if values else "''"
        return ",".join(values)

    sql = _DATE_FILTER.sub(date_filter, sql)
    sql = _TIME_FILTER.sub(time_filter, sql)
    return _VARIABLE.sub(variable, sql)


def variables_used(sql: str) -> set[str]:
    """Names of the template variables `sql` refers to."""
    return {match.group(1) for match in _VARIABLE.finditer(sql)}
