"""The OpenAPI document exercised with schemathesis against the app: no operation answers 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from crm.api.openapi import build_openapi
from tests.builders import (
    bearer,
    make_api_key,
    make_inquiry,
    make_park,
    make_property,
    make_token,
)

SCHEMA_URL = "/api/v1/openapi.json"
# Every documented operation, read from the same registry the served document is built from.
# schemathesis leaves out the document's own path; it is fetched to load the schema anyway.
OPERATIONS = [
    (method.upper(), path)
    for path, ops in build_openapi()["paths"].items()
    for method in ops
    if path != "/openapi.json"
]
MAX_EXAMPLES = 15


@pytest.fixture
def seeded(app, manager) -> dict[str, object]:
    """A park, a property and a lead to aim path parameters at, and the callers' secrets."""
    park = make_park()
    prop = make_property(park)
    lead = make_inquiry().lead
    return {
        "ids": {"lead_id": lead.id, "property_id": prop.id},
        "api_key": {"X-API-Key": make_api_key()},
        "bearer": bearer(make_token(manager)),
    }


def _cases(operation, headers: dict[str, str], ids: dict[str, int]) -> st.SearchStrategy:
    """Valid and invalid requests, with path parameters random or pointing at real rows."""
    known = {name: value for name, value in ids.items() if "{" + name + "}" in operation.path}
    strategies = [
        operation.as_strategy(generation_mode=mode, headers=headers)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    if known:
        strategies += [
            operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=known)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
    return st.one_of(strategies)


def test_the_served_document_lists_every_registered_operation(app):
    schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, app)
    served = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert served == set(OPERATIONS)
    assert schema.base_path == "/api/v1/"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_never_answers_with_a_server_error(app, seeded, method, path):
    schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, app)
    operation = schema[path][method]
    headers = seeded["api_key"] if path == "/inquiries" else seeded["bearer"]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation, headers, seeded["ids"]))
    def exercise(case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    exercise()
