"""deploy/kubernetes as `podman kube play` (podman 4.3, Debian bookworm's) can play it on one machine.

The manifests are read as the kustomization lists them (plain concatenation; nothing in them needs
kustomize's transformers besides the image name, which is replaced here), then changed only where podman
or one host network requires it:
- Service, Ingress, HorizontalPodAutoscaler and PodDisruptionBudget are left out: podman has no cluster
  network, autoscaler or eviction API (it skips those kinds silently; leaving them out says so).
- The Job becomes a bare Pod (restartPolicy Never, the Job's pod template): podman 4.3 skips Jobs. The CI
  plays it first and waits for it to exit 0, as `kubectl wait --for=condition=complete` would.
- The Secret becomes a ConfigMap, and secretRef a configMapRef: podman 4.3 reads secretRef from its own
  secret store (`podman secret create`), not from a Secret in the played file.
- ConfigMap and Secret values are overridden with this machine's endpoints (`overrides`).
- hostNetwork: the pods share the host's loopback with PostgreSQL, Redis, RabbitMQ and the S3 server (and
  declare no container ports: podman maps none on the host network). The web pods bind PORT with
  SO_REUSEPORT, so both replicas serve one port as a Service would spread them.
- Probes are dropped: podman runs health checks from systemd timers, which this machine does not have; the
  CI polls /health/ready itself.
- emptyDir volumes get names unique to their Deployment (podman 4.3 plays an emptyDir as a named volume).
Everything else, the securityContext (uid 10001, read-only root filesystem) included, is played as written.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
LEFT_OUT = {"Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def manifests(directory: Path = MANIFESTS) -> list[dict]:
    """Every resource the kustomization lists, in its order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        documents.extend(doc for doc in yaml.safe_load_all((directory / resource).read_text()) if doc)
    return documents


def _pod_spec(spec: dict, *, image: str, prefix: str, web_port: int, owner: str) -> dict:
    spec = copy.deepcopy(spec)
    spec["hostNetwork"] = True
    for container in spec["containers"]:
        container["image"] = image
        container["imagePullPolicy"] = "Never"
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            container.pop(probe, None)
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                source["configMapRef"] = source.pop("secretRef")
        if container.get("command", [None])[0] == "gunicorn":
            container["env"] = [var for var in container.get("env", []) if var["name"] != "PORT"]
            container["env"] += [
                {"name": "PORT", "value": str(web_port)},
                {"name": "GUNICORN_CMD_ARGS", "value": f"--bind 127.0.0.1:{web_port} --reuse-port"},
            ]
        container.pop("ports", None)  # podman refuses port mappings on the host network
    renamed = {volume["name"]: f"{prefix}-{owner}-{volume['name']}" for volume in spec.get("volumes", [])}
    for volume in spec.get("volumes", []):
        volume["name"] = renamed[volume["name"]]
    for container in spec["containers"]:
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed.get(mount["name"], mount["name"])
    return spec


def variant(
    documents: list[dict],
    *,
    image: str,
    prefix: str,
    web_port: int,
    overrides: dict[str, str],
    additions: dict[str, str] | None = None,
) -> dict[str, list[dict]]:
    """The played variant: {"configmaps": [...], "migrate": [the Job's Pod], "app": [the Deployments]}.

    `overrides` replace values the ConfigMap or Secret has; `additions` are settings the templates leave
    unset (a test machine's OUTBOUND_ALLOW_PRIVATE_NETWORKS), added to the first ConfigMap."""
    played: dict[str, list[dict]] = {"configmaps": [], "migrate": [], "app": []}
    for document in documents:
        kind, name = document["kind"], document["metadata"]["name"]
        if kind in LEFT_OUT:
            continue
        if kind in ("ConfigMap", "Secret"):
            data = {**document.get("data", {}), **document.get("stringData", {})}
            data = {key: overrides.get(key, value) for key, value in data.items()}
            played["configmaps"].append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
            )
        elif kind == "Job":
            template = document["spec"]["template"]
            spec = _pod_spec(template["spec"], image=image, prefix=prefix, web_port=web_port, owner=name)
            spec["restartPolicy"] = "Never"
            metadata = {"name": f"{prefix}-{name}", "labels": template["metadata"].get("labels", {})}
            played["migrate"].append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
        elif kind == "Deployment":
            deployment = copy.deepcopy(document)
            deployment["metadata"]["name"] = f"{prefix}-{name}"
            template = deployment["spec"]["template"]
            template["spec"] = _pod_spec(
                template["spec"], image=image, prefix=prefix, web_port=web_port, owner=name
            )
            played["app"].append(deployment)
        else:
            raise ValueError(f"deploy/kubernetes has a {kind} ({name}) that this variant does not know")
    # An unused override is a typo in the caller, or a key the manifests lost: either way, not played.
    known = {key for configmap in played["configmaps"] for key in configmap["data"]}
    if set(overrides) - known:
        raise ValueError(f"overrides for keys no ConfigMap or Secret has: {sorted(set(overrides) - known)}")
    if set(additions or {}) & known:
        raise ValueError(f"additions the manifests set already: {sorted(set(additions) & known)}")
    played["configmaps"][0]["data"].update(additions or {})
    return played


def write(played: dict[str, list[dict]], directory: Path) -> dict[str, Path]:
    """migrate.yaml and app.yaml for `podman kube play`, each with the ConfigMaps its pods read (podman 4.3
    takes them from the played file; its --configmap option reads one ConfigMap per file)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for group in ("migrate", "app"):
        paths[group] = directory / f"{group}.yaml"
        paths[group].write_text(yaml.safe_dump_all(played["configmaps"] + played[group], sort_keys=False))
    return paths
