"""SendGrid's OpenAPI description of the Mail Send API (kept in tests/data) as a
validator of the request bodies the backend posts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[1] / "data" / "sendgrid-mail-v3.openapi.json"
SPEC_URI = "urn:sendgrid-mail-v3"


def mail_send_validator() -> Draft202012Validator:
    """A validator of request bodies for POST /v3/mail/send, from SendGrid's own OpenAPI
    description, kept in tests/data (its source and licence are in the README there)."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    pointer = spec["paths"]["/v3/mail/send"]["post"]["requestBody"]["$ref"]
    request_body = spec
    for part in pointer.removeprefix("#/").split("/"):
        request_body = request_body[part]
    schema = request_body["content"]["application/json"]["schema"]
    # The spec's known defect (see tests/data/README.md): top-level custom_args is typed
    # "string", while the API and SendGrid's own helper send an object of strings, as
    # personalizations[].custom_args is. Patched here to what the API takes.
    schema["properties"]["custom_args"] = {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    # The body schema's own $refs (#/components/schemas/...) resolve within the spec.
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    body_pointer = f"{pointer}/content/application~1json/schema"
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}{body_pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
