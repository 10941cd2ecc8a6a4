"""Every answer is described: each 2xx JSON response in the OpenAPI schema names a model with
its fields (or a list of them, or of plain values), so ``/docs`` tells a client what comes back."""

from __future__ import annotations

from api.app import create_app
from ledger.settings import Settings


def _described(schema: dict, components: dict) -> bool:
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[1]]
        return bool(target.get("properties"))
    if schema.get("type") == "array":
        items = schema.get("items", {})
        return _described(items, components) or items.get("type") in ("string", "integer", "boolean", "number")
    return False


def test_every_2xx_json_answer_has_a_model(tmp_path):
    spec = create_app(Settings(home=tmp_path), anchoring=False).openapi()
    components = spec["components"]["schemas"]
    operations, undescribed = 0, []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            operations += 1
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    continue
                json_answer = answer.get("content", {}).get("application/json")
                if json_answer is None:
                    assert status == "204", (method, path, status)  # no body
                    continue
                if not _described(json_answer.get("schema", {}), components):
                    undescribed.append(f"{method.upper()} {path} {status}")
    assert operations >= 40
    assert undescribed == []


def test_the_response_models_are_closed(tmp_path):
    """A documented answer lists its fields: no model a route answers with allows others."""
    spec = create_app(Settings(home=tmp_path), anchoring=False).openapi()
    components = spec["components"]["schemas"]
    for name in ("ProofBundle", "PledgeOut", "PledgeListed", "Health", "AuditReport", "ActivityOut"):
        assert components[name].get("additionalProperties") is False, name
    assert set(components["ActivityOut"]["properties"]) == {"from", "to", "types", "days"}
