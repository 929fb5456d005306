"""The alert rules and the Grafana dashboard shipped in ops/: valid for Prometheus (`promtool check rules`),
each alert firing on its condition (`promtool test rules`), and every metric they name one we export.

promtool comes with Debian's `prometheus` package; .ci/run installs it when missing, and CI refuses skips,
so a machine without it fails here with the command to run."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infrastructure.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "ops" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "garmax-api.json"
_METRIC = re.compile(r"\b(garmax_[a-z_]+)\b")


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: apt-get install prometheus (.ci/run does this)")
    return path


def _exported_names() -> set[str]:
    """Every sample name our metric families can produce, the scrape-time queue gauges included."""
    names = {"garmax_celery_broker_up", "garmax_celery_queue_length"}
    names |= {"garmax_celery_queue_oldest_task_age_seconds", "garmax_celery_queue_unconsumed"}
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if describe and getattr(value, "_name", "").startswith("garmax_"):
            for family in describe():
                if family.type == "counter":
                    names.add(family.name + "_total")
                elif family.type == "histogram":
                    names |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
                else:
                    names.add(family.name)
    return names


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _rule_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def test_the_rules_are_valid_prometheus_rules(promtool):
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_each_alert_fires_on_its_condition_and_not_on_a_healthy_series(promtool):
    result = subprocess.run(
        [promtool, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, cwd=RULE_TESTS.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_issue_s_alerts_are_all_there():
    groups = yaml.safe_load(RULES.read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    assert {
        "GarmaxHighErrorRate",  # 5xx rate
        "GarmaxPartnerReadsSlow",  # p99 of partner reads
        "GarmaxQueueBacklog",  # queue age
        "GarmaxWebhookDeliveryLag",  # webhook lag
        "GarmaxRendersFailing",  # renders failing
        "GarmaxQueueUnconsumed",  # a worker queue nobody consumes
    } <= alerts
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert alerts - tested <= {"GarmaxRateLimitSurge", "GarmaxOutboundRefusals", "GarmaxMetricsDown"}


def test_rules_and_dashboard_name_only_metrics_we_export():
    exported = _exported_names()
    rules, panels = _rule_exprs(), _dashboard_exprs()
    assert rules and panels
    for expr in rules + panels:
        unknown = set(_METRIC.findall(expr)) - exported
        assert not unknown, (expr, unknown)


def test_the_dashboard_covers_every_family_and_every_alerted_metric():
    on_dashboard = {name for expr in _dashboard_exprs() for name in _METRIC.findall(expr)}
    alerted = {name for expr in _rule_exprs() for name in _METRIC.findall(expr)}
    assert alerted <= on_dashboard
    families = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in _exported_names()}
    covered = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in on_dashboard}
    assert families <= covered


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path):
    # promtool validates PromQL inside rule files: wrap each panel query as a recording rule.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": e} for n, e in enumerate(_dashboard_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
