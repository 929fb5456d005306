"""deploy/kubernetes against Kubernetes' own OpenAPI schemas, offline (kubernetes-validate ships them),
then what the README promises of it; and the variant .ci/containers plays with podman (kube_play.py)."""

import copy
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy import kube_play

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = ROOT / "deploy" / "kubernetes"
DOCUMENTS = kube_play.manifests(DIRECTORY)
BY_KIND_NAME = {(doc["kind"], doc["metadata"]["name"]): doc for doc in DOCUMENTS}
# The oldest Kubernetes minor still maintained upstream when this was written, and the newest validated.
VERSIONS = ["1.32.0", kubernetes_validate.latest_version()]
README = (ROOT / "README.md").read_text()
CONFIGURATION = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]


def pod_specs() -> dict[str, dict]:
    specs = {}
    for doc in DOCUMENTS:
        if doc["kind"] in ("Deployment", "Job"):
            specs[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
    return specs


def configured(name: str) -> str | None:
    for kind in ("ConfigMap", "Secret"):
        for doc in DOCUMENTS:
            if doc["kind"] == kind and name in {**doc.get("data", {}), **doc.get("stringData", {})}:
                return {**doc.get("data", {}), **doc.get("stringData", {})}[name]
    return None


def readme_default(variable: str) -> int:
    row = re.search(rf"^\| `{variable}` \| `(\d+)` \|", CONFIGURATION, re.M)
    assert row, f"README's Configuration table has no default for {variable}"
    return int(row.group(1))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_for_kubernetes(version):
    assert len(DOCUMENTS) == 10
    for doc in DOCUMENTS:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_refuses_a_broken_manifest():
    broken = copy.deepcopy(BY_KIND_NAME["Deployment", "garmax-web"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_kustomization_lists_every_manifest_in_the_directory():
    listed = yaml.safe_load((DIRECTORY / "kustomization.yaml").read_text())["resources"]
    on_disk = sorted(path.name for path in DIRECTORY.glob("*.yaml") if path.name != "kustomization.yaml")
    assert sorted(listed) == on_disk


def test_web_probes_readiness_and_liveness_with_a_host_django_allows():
    (web,) = BY_KIND_NAME["Deployment", "garmax-web"]["spec"]["template"]["spec"]["containers"]
    assert web["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert web["livenessProbe"]["httpGet"]["path"] == "/health"
    allowed = configured("DJANGO_ALLOWED_HOSTS").split(",")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        (header,) = web[probe]["httpGet"]["httpHeaders"]
        assert header["name"] == "Host" and header["value"] in allowed


def test_web_scales_on_cpu_and_keeps_one_pod_through_disruptions():
    web = BY_KIND_NAME["Deployment", "garmax-web"]
    labels = web["spec"]["template"]["metadata"]["labels"]
    hpa = BY_KIND_NAME["HorizontalPodAutoscaler", "garmax-web"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "garmax-web"}
    assert hpa["minReplicas"] >= 2
    pdb = BY_KIND_NAME["PodDisruptionBudget", "garmax-web"]["spec"]
    assert pdb["minAvailable"] == 1 and pdb["selector"]["matchLabels"].items() <= labels.items()
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_ingress_reaches_web_through_the_service_and_the_proxy_settings_are_set():
    service = BY_KIND_NAME["Service", "garmax-web"]["spec"]
    web_labels = BY_KIND_NAME["Deployment", "garmax-web"]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= web_labels.items()
    (rule,) = BY_KIND_NAME["Ingress", "garmax-web"]["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": "garmax-web", "port": {"name": "http"}}
    assert (
        configured("TRUSTED_PROXIES") and configured("DJANGO_SECURE_PROXY_SSL_HEADER") == "X-Forwarded-Proto"
    )
    assert rule["host"] in configured("DJANGO_ALLOWED_HOSTS").split(",")


def test_workers_stop_gracefully_for_longer_than_the_longest_task():
    from config.celery import app

    app.loader.import_default_modules()
    limits = [task.time_limit or 0 for task in app.tasks.values()]
    assert limits
    longest = max(
        *limits,
        int(configured("TRYON_RENDER_TIMEOUT_SECONDS") or readme_default("TRYON_RENDER_TIMEOUT_SECONDS")),
        int(configured("CELERY_VISIBILITY_TIMEOUT") or readme_default("CELERY_VISIBILITY_TIMEOUT")),
    )
    worker = BY_KIND_NAME["Deployment", "garmax-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > longest


def test_beat_runs_exactly_once_and_migrate_runs_once_as_a_job():
    beat = BY_KIND_NAME["Deployment", "garmax-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}
    job = BY_KIND_NAME["Job", "garmax-migrate"]["spec"]["template"]["spec"]
    assert job["restartPolicy"] == "Never"
    assert job["containers"][0]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_every_pod_is_non_root_with_a_read_only_root_and_writable_data_dir_and_tmp():
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = int(re.search(r"^USER (\d+):\d+$", dockerfile, re.M).group(1))
    data_dir = re.search(r"^\s+GARMAX_DATA_DIR=(\S+) \\$", dockerfile, re.M).group(1)  # the final ENV
    specs = pod_specs()
    assert set(specs) == {"garmax-web", "garmax-worker", "garmax-beat", "garmax-migrate"}
    for name, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == uid
        empty_dirs = {volume["name"] for volume in spec["volumes"] if "emptyDir" in volume}
        (container,) = spec["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts.keys() == {data_dir, "/tmp"} and set(mounts.values()) <= empty_dirs, name


def test_config_map_and_secret_hold_only_documented_settings():
    names = [
        key
        for doc in DOCUMENTS
        if doc["kind"] in ("ConfigMap", "Secret")
        for key in {**doc.get("data", {}), **doc.get("stringData", {})}
    ]
    assert "DATABASE_URL" in names and "DJANGO_SECRET_KEY" in names
    assert [name for name in names if f"`{name}`" not in CONFIGURATION] == []


def test_the_podman_variant_plays_what_podman_supports_from_the_same_manifests():
    played = kube_play.variant(
        DOCUMENTS,
        image="localhost/garmax-api:test",
        prefix="ci",
        web_port=18000,
        overrides={"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"},
        additions={"OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"},
    )
    assert [doc["kind"] for doc in played["configmaps"]] == ["ConfigMap", "ConfigMap"]
    assert played["configmaps"][0]["data"]["OUTBOUND_ALLOW_PRIVATE_NETWORKS"] == "true"
    assert played["configmaps"][1]["data"]["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/x"
    (migrate,) = played["migrate"]
    assert migrate["kind"] == "Pod" and migrate["spec"]["restartPolicy"] == "Never"
    assert [doc["metadata"]["name"] for doc in played["app"]] == [
        "ci-garmax-web",
        "ci-garmax-worker",
        "ci-garmax-beat",
    ]
    for doc in [migrate, *played["app"]]:
        spec = doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]
        assert spec["hostNetwork"] is True
        (container,) = spec["containers"]
        assert container["image"] == "localhost/garmax-api:test"
        assert "readinessProbe" not in container and "livenessProbe" not in container
        assert "ports" not in container
        assert all("secretRef" not in source for source in container["envFrom"])
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    web = played["app"][0]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "GUNICORN_CMD_ARGS", "value": "--bind 127.0.0.1:18000 --reuse-port"} in web["env"]


def test_the_podman_variant_refuses_an_override_for_a_setting_the_manifests_lack():
    with pytest.raises(ValueError, match="DATABSE_URL"):
        kube_play.variant(DOCUMENTS, image="i", prefix="p", web_port=1, overrides={"DATABSE_URL": "x"})
