"""Grafana alert rules on the ClickHouse views, with a contact point and a notification
policy that routes by region and branch.

Each rule is one ClickHouse query (string columns become the alert's labels, the numeric
column its value), reduced to its last value and compared with a threshold: Grafana's
"reduce" and "threshold" server-side expressions. The rules are built with the SDK's typed
builders and written in Grafana's file-provisioning shape (`groups`, `contactPoints`,
`policies`), which names a group by `name` and its folder by title where the HTTP API uses
`title` and `folderUid`.
"""

from __future__ import annotations

from typing import Any, Literal

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting as alert_models

from jamsos.dashboards import queries as q
from jamsos.dashboards.clickhouse import DATASOURCE_UID, SqlQuery

FOLDER = "jamsos"
GROUP = "jamsos-contributors"
EVALUATE_EVERY = 300
"""Seconds between evaluations of the group."""
CONTACT_POINT = "jamsos-operations"
BRANCH_CONTACT_POINT = "jamsos-branch-follow-up"
EXPRESSIONS = "__expr__"
"""The datasource uid of Grafana's server-side expressions."""

Comparison = Literal["gt", "lt"]
_API_ONLY = ("folderUID", "orgID", "ruleGroup")
"""Rule fields of the HTTP API that the provisioning file takes from its group instead."""


def _rule(
    uid: str,
    title: str,
    query: q.Query,
    comparison: Comparison,
    threshold: float,
    *,
    summary: str,
    for_val: str = "10m",
    labels: dict[str, str] | None = None,
) -> alerting.Rule:
    """A rule: query A (ClickHouse, over the last 10 minutes: the views hold current
    figures, so the range only bounds the request), B = last(A), C = B <comparison>
    threshold."""
    source = (
        alerting.Query("A")
        .datasource_uid(DATASOURCE_UID)
        .relative_time_range(alert_models.RelativeTimeRange(from_val=600, to=0))
        .model(SqlQuery(query.sql).ref_id("A"))
    )
    reduce = (
        alerting.Query("B")
        .datasource_uid(EXPRESSIONS)
        .model(expr.TypeReduce().expression("A").reducer("last").ref_id("B"))
    )
    condition = (
        alerting.Query("C")
        .datasource_uid(EXPRESSIONS)
        .model(
            expr.TypeThreshold()
            .expression("B")
            .ref_id("C")
            .conditions(
                [
                    expr.ExprTypeThresholdConditions().evaluator(
                        expr.ExprTypeThresholdConditionsEvaluator()
                        .type(comparison)
                        .params([threshold])
                    )
                ]
            )
        )
    )
    return (
        alerting.Rule(title)
        .uid(uid)
        .queries([source, reduce, condition])
        .condition("C")
        .for_val(for_val)
        .no_data_state("OK")
        .exec_err_state("Error")
        .annotations({"summary": summary})
        .labels({"team": "jamsos", **(labels or {})})
    )


def rules() -> list[alerting.Rule]:
    """Grace backlog per branch, lapse spike, business day not closed, pipeline
    freshness, dead letters rising."""
    return [
        _rule(
            "jamsos-grace-backlog",
            "Grace backlog per branch",
            q.GRACE_BACKLOG,
            "gt",
            500,
            summary="Branch {{ $labels.branch_code }} ({{ $labels.region_code }}) has "
            "{{ $values.B }} members in grace: call them before they lapse.",
            labels={"audience": "branch"},
        ),
        _rule(
            "jamsos-lapse-spike",
            "Lapse spike against the trailing median",
            q.LAPSE_SPIKE,
            "gt",
            2.0,
            summary="Lapses on the last business day are {{ $values.B }} times the median "
            "of the 27 business days before.",
        ),
        _rule(
            "jamsos-business-day-not-closed",
            "Business day not closed",
            q.LAST_BUSINESS_DAY,
            "gt",
            3,
            summary="No business day has closed for {{ $values.B }} days: is the clock feed "
            "or the worker stopped?",
            for_val="1h",
        ),
        _rule(
            "jamsos-pipeline-freshness",
            "Pipeline freshness",
            q.FRESHNESS,
            "gt",
            3600,
            summary="No status change has landed for {{ $values.B }} s: check the workers, "
            "the sink and their consumer lag.",
        ),
        _rule(
            "jamsos-dead-letters-rising",
            "Dead letters rising",
            q.DEAD_LETTERS_LAST_HOUR,
            "gt",
            100,
            summary="{{ $values.B }} dead letters in the last hour: read dead_letters by "
            "error_type, fix upstream, then replay them.",
        ),
    ]


def _encoded(builder: Any) -> Any:
    return JSONEncoder().default(builder.build())


def rule_file() -> dict[str, Any]:
    """The rule group in Grafana's alerting file-provisioning shape."""
    group = alerting.RuleGroup(GROUP).interval(EVALUATE_EVERY).rules(list(rules()))
    api = _encoded(group)
    encoded_rules = [
        {k: v for k, v in JSONEncoder().default(rule).items() if k not in _API_ONLY}
        for rule in api["rules"]
    ]
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": api["title"],
                "folder": FOLDER,
                "interval": f"{api['interval']}s",
                "rules": [_plain(rule) for rule in encoded_rules],
            }
        ],
    }


def _plain(value: Any) -> Any:
    """Nested SDK objects as plain JSON values."""
    encoder = JSONEncoder()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for plain in (str, int, float):  # enums of the SDK are str/int subclasses
        if isinstance(value, plain):
            return plain(value)
    return _plain(encoder.default(value))


def notification_file() -> dict[str, Any]:
    """Contact points (an operations webhook and a branch follow-up e-mail) and the policy
    routing branch alerts by region and branch; addresses come from the environment."""
    operations = (
        alerting.ContactPoint()
        .uid(CONTACT_POINT)
        .name(CONTACT_POINT)
        .type("webhook")
        .settings({"url": "${JAMSOS_ALERT_WEBHOOK_URL}"})
    )
    branches = (
        alerting.ContactPoint()
        .uid(BRANCH_CONTACT_POINT)
        .name(BRANCH_CONTACT_POINT)
        .type("email")
        .settings({"addresses": "${JAMSOS_ALERT_BRANCH_EMAILS}"})
    )
    policy = (
        alerting.NotificationPolicy()
        .receiver(CONTACT_POINT)
        .group_by(["alertname", "region_code"])
        .routes(
            [
                alerting.NotificationPolicy()
                .receiver(BRANCH_CONTACT_POINT)
                .object_matchers(
                    [alert_models.Matcher("audience", alert_models.MatchType.EQUAL, "branch")]
                )
                .group_by(["alertname", "region_code", "branch_code"])
            ]
        )
    )

    def receiver(point: alerting.ContactPoint) -> dict[str, Any]:
        encoded = _plain(_encoded(point))
        return {
            "orgId": 1,
            "name": encoded["name"],
            "receivers": [
                {"uid": encoded["uid"], "type": encoded["type"], "settings": encoded["settings"]}
            ],
        }

    def triples(route: dict[str, Any]) -> dict[str, Any]:
        """Matchers as the file format writes them: [name, operator, value]."""
        matchers = route.get("object_matchers")
        if matchers:
            route["object_matchers"] = [[m["Name"], m["Type"], m["Value"]] for m in matchers]
        for child in route.get("routes", []):
            triples(child)
        return route

    return {
        "apiVersion": 1,
        "contactPoints": [receiver(operations), receiver(branches)],
        "policies": [{"orgId": 1, **triples(_plain(_encoded(policy)))}],
    }


def rule_queries() -> dict[str, q.Query]:
    """Rule uid -> its ClickHouse query (for the checks)."""
    sql = {
        query.sql: query
        for query in (
            q.GRACE_BACKLOG,
            q.LAPSE_SPIKE,
            q.LAST_BUSINESS_DAY,
            q.FRESHNESS,
            q.DEAD_LETTERS_LAST_HOUR,
        )
    }
    found: dict[str, q.Query] = {}
    for rule in rule_file()["groups"][0]["rules"]:
        for data in rule["data"]:
            if data["datasourceUid"] == DATASOURCE_UID:
                found[rule["uid"]] = sql[data["model"]["rawSql"]]
    return found
