"""The Kubernetes manifests under deploy/k8s validate offline and name only real settings.

Core kinds (Deployment, StatefulSet, Job, Service, ConfigMap, Secret, PVC, PDB, Namespace)
are checked strictly against Kubernetes' own schemas (`kubernetes-validate`, bundled, no
cluster needed); the operators' resources (Strimzi, Altinity) are the generated ones
checked against the code (`jamsos.kubernetes`) plus the hand-written cluster definitions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from jamsos.kubernetes import PRINCIPALS, kafka_users, stale
from jamsos.settings import PROJECT_ROOT, Settings
from jamsos.stack.acls import service_grants
from tests.unit.metric_series import exported_series

K8S = PROJECT_ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1"}
OPERATOR_KINDS = {
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "KafkaUser",
    "ClickHouseInstallation",
    "ClickHouseKeeperInstallation",
    "PrometheusRule",
}


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _ids() -> list[str]:
    return [f"{path.name}:{doc['kind']}:{doc['metadata']['name']}" for path, doc in _documents()]


@pytest.mark.parametrize(("path", "doc"), _documents(), ids=_ids())
def test_every_resource_is_valid(path: Path, doc: dict[str, Any]) -> None:
    if doc["apiVersion"] in CORE_GROUPS:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    else:
        assert doc["kind"] in OPERATOR_KINDS, f"{path.name}: unexpected kind {doc['kind']}"
        assert doc["metadata"]["name"]
        assert isinstance(doc["spec"], dict)


def test_kustomization_lists_every_file() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {
        str(path.relative_to(K8S))
        for path in K8S.rglob("*.yaml")
        if path.name != "kustomization.yaml"
    }
    assert listed == present


def test_every_jamsos_variable_in_the_manifests_is_a_setting() -> None:
    names = set()
    for path in K8S.rglob("*.yaml"):
        names |= set(re.findall(r"\bJAMSOS_[A-Z0-9_]+", path.read_text()))
    settings = {f"JAMSOS_{field.upper()}" for field in Settings.model_fields}
    assert names, "no JAMSOS_ variable found"
    unknown = sorted(names - settings)
    assert not unknown, f"not settings: {unknown}"


def test_the_generated_files_match_the_code() -> None:
    assert stale() == []


def test_each_kafka_user_has_exactly_its_services_acls() -> None:
    users = {user["metadata"]["name"]: user for user in kafka_users()}
    for service, principal in PRINCIPALS.items():
        acls = users[principal]["spec"]["authorization"]["acls"]
        assert len(acls) == len(service_grants(Settings(), service))
        assert {acl["resource"]["type"] for acl in acls} <= {"topic", "group"}


def test_workloads_run_as_their_own_kafka_principal() -> None:
    by_name = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in _documents()}
    for kind, principal in (("StatefulSet", "jamsos-worker"), ("Deployment", "jamsos-sink")):
        env = by_name[kind, principal]["spec"]["template"]["spec"]["containers"][0]["env"]
        values = {item["name"]: item for item in env}
        assert values["JAMSOS_KAFKA_USERNAME"]["value"] == principal
        assert values["JAMSOS_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == principal


def test_alert_rules_use_metrics_the_processes_export() -> None:
    """Every `jamsos_*` series an alert reads is one the worker or sink defines."""
    rules = (K8S / "prometheus-rules.yaml").read_text()
    used = set(re.findall(r"\b(jamsos_[a-z_]+?)(?:_total)?\b", rules))
    assert used, "no jamsos_ series in the rules"
    assert used <= exported_series(), f"not exported: {sorted(used - exported_series())}"
