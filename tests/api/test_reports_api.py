"""GET /api/v1/reports/pipeline: the shape DESIGN.md promises and the known figures."""

from __future__ import annotations

import pytest

from tests.builders import bearer, make_token
from tests.web.test_reports import MARCH_ARGS, Clock, build_known_dataset

URL = "/api/v1/reports/pipeline"


def assert_error_shape(response, status: int) -> dict:
    """The API's one error shape: {"error": {"code", "message", "fields"}}."""
    assert response.status_code == status
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    return error


@pytest.fixture
def known(app, monkeypatch, manager, agent, other_agent):
    return build_known_dataset(Clock(monkeypatch), manager, agent, other_agent)


def test_pipeline_report_has_the_promised_shape_and_figures(client, known):
    response = client.get(URL, query_string=MARCH_ARGS, headers=bearer(make_token(known.manager)))
    assert response.status_code == 200
    body = response.get_json()
    assert {"current", "reached", "lost_reasons", "by_source", "by_owner"} <= set(body)
    assert body["from"] == "2026-03-01" and body["to"] == "2026-04-01"
    assert body["total"] == 12
    assert body["current"] == {
        "new": 2,
        "contacted": 2,
        "qualified": 2,
        "visit": 1,
        "negotiation": 1,
        "won": 1,
        "lost": 3,
    }
    assert body["reached"] == {
        "new": 12,
        "contacted": 8,
        "qualified": 6,
        "visit": 3,
        "negotiation": 2,
        "won": 2,
    }
    assert body["win_rate"] == 0.0833
    assert body["lost_reasons"] == {"价格太高": 2, "面积不合适": 1}
    assert body["by_source"] == {
        "website": 5,
        "api": 2,
        "phone": 2,
        "event": 1,
        "referral": 1,
        "wechat": 1,
    }
    owners = {row["owner_id"]: row for row in body["by_owner"]}
    assert owners == {
        known.agent_a.id: {
            "owner_id": known.agent_a.id,
            "leads": 6,
            "won": 0,
            "median_first_response_hours": 0.75,
        },
        known.agent_b.id: {
            "owner_id": known.agent_b.id,
            "leads": 6,
            "won": 1,
            "median_first_response_hours": 2.0,
        },
    }
    speed = body["speed"]
    assert speed["median_first_response_hours"] == 1.75
    assert speed["p90_first_response_hours"] == 6.0
    assert speed["sla_compliance"] == 0.6364
    assert speed["stale"] == 5


def test_admins_may_read_the_report(client, admin):
    response = client.get(URL, headers=bearer(make_token(admin)))
    assert response.status_code == 200
    assert response.get_json()["total"] == 0


def test_agents_token_gets_403(client, agent):
    assert_error_shape(client.get(URL, headers=bearer(make_token(agent))), 403)


def test_no_token_gets_401(client):
    assert_error_shape(client.get(URL), 401)


@pytest.mark.parametrize(
    "args,field",
    [
        ({"from": "2026-02-30"}, "from"),
        ({"to": "not-a-date"}, "to"),
        ({"from": "2026-04-01", "to": "2026-03-01"}, "from"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"park_id": "abc"}, "park_id"),
        ({"owner_id": "99999999999"}, "owner_id"),
    ],
)
def test_bad_filters_get_422_with_the_field(client, manager, args, field):
    response = client.get(URL, query_string=args, headers=bearer(make_token(manager)))
    error = assert_error_shape(response, 422)
    assert list(error["fields"]) == [field]
