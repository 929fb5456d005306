"""A Postman collection (format v2.1.0) generated from our OpenAPI document: `GET /api/docs/postman`.

One folder per tag, one request per operation, in the document's order. Variables of the collection:
`baseUrl` (this server's `/api`), `apiKey` (sent as `X-API-Key` by every operation the document secures with
the key) and `accessToken` (the JWT of `POST /api/auth/token`, sent as a bearer token by the management
operations); public operations send neither.
Path parameters become Postman's `:name` segments; bodies are the document's request examples.
"""

import functools
import json

from api.schema import openapi_document

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_METHODS = ("get", "post", "put", "patch", "delete")
API_KEY_SCHEME = "ApiKeyAuth"


def _url(path: str, operation: dict) -> dict:
    segments = [
        f":{segment[1:-1]}" if segment.startswith("{") else segment
        for segment in path.removeprefix("/api/").split("/")
    ]
    parameters = operation.get("parameters", [])
    url = {"raw": "{{baseUrl}}/" + "/".join(segments), "host": ["{{baseUrl}}"], "path": segments}
    variables = [
        {"key": p["name"], "value": "", "description": p.get("description", "")}
        for p in parameters
        if p.get("in") == "path"
    ]
    query = [
        {"key": p["name"], "value": "", "description": p.get("description", ""), "disabled": True}
        for p in parameters
        if p.get("in") == "query"
    ]
    if variables:
        url["variable"] = variables
    if query:
        url["query"] = query
    return url


def _body(operation: dict) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if media is None:
        if "multipart/form-data" in content:
            return {"mode": "formdata", "formdata": []}
        return None
    example = media.get("example")
    if example is None and media.get("examples"):
        example = next(iter(media["examples"].values())).get("value")
    raw = json.dumps(example if example is not None else {}, indent=2)
    return {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}


def _request(path: str, method: str, operation: dict) -> dict:
    schemes = {name for requirement in operation.get("security") or [] for name in requirement}
    headers = []
    auth = {"type": "noauth"}
    if API_KEY_SCHEME in schemes:
        headers.append({"key": "X-API-Key", "value": "{{apiKey}}", "type": "text"})
    elif schemes:
        auth = {"type": "bearer", "bearer": [{"key": "token", "value": "{{accessToken}}", "type": "string"}]}
    request = {
        "method": method.upper(),
        "header": headers,
        "url": _url(path, operation),
        "auth": auth,
        "description": operation.get("description", ""),
    }
    body = _body(operation)
    if body is not None:
        request["body"] = body
        if body["mode"] == "raw":
            headers.append({"key": "Content-Type", "value": "application/json", "type": "text"})
    return {
        "name": operation.get("summary") or f"{method.upper()} {path}",
        "request": request,
        "response": [],
    }


@functools.cache
def postman_collection(base_url: str = "http://127.0.0.1:8000/api") -> dict:
    """The collection for the public OpenAPI document, `baseUrl` preset to `base_url`."""
    document = openapi_document()
    folders: dict[str, list[dict]] = {}
    for path, operations in document["paths"].items():
        for method in _METHODS:
            operation = operations.get(method)
            if operation is not None:
                tag = (operation.get("tags") or ["Other"])[0]
                folders.setdefault(tag, []).append(_request(path, method, operation))
    info = document["info"]
    return {
        "info": {
            "name": info["title"],
            "description": f"{info.get('description', '')}\n\nGenerated from the OpenAPI document "
            "at /api/schema.",
            "version": info.get("version", ""),
            "schema": SCHEMA_URL,
        },
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
        "variable": [
            {"key": "baseUrl", "value": base_url, "type": "string"},
            {"key": "apiKey", "value": "gx_live_your_key_here", "type": "string"},
            {"key": "accessToken", "value": "", "type": "string"},
        ],
    }
