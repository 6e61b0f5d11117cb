"""API skeleton: error shape, authentication, OpenAPI document."""

from __future__ import annotations

from tests.builders import bearer, make_api_key, make_token


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["message"]
    return error


def test_unknown_api_route_answers_json_404(client):
    assert_error_shape(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_answers_json_405(client):
    assert_error_shape(client.delete("/api/v1/openapi.json"), 405)


def test_server_error_answers_json_500_without_details(fresh_app):
    app = fresh_app

    @app.get("/api/v1/__boom")
    def boom():
        raise RuntimeError("secret internals")

    error = assert_error_shape(app.test_client().get("/api/v1/__boom"), 500)
    assert "secret internals" not in error["message"]


def test_me_needs_a_bearer_token(client):
    assert_error_shape(client.get("/api/v1/me"), 401)
    assert_error_shape(client.get("/api/v1/me", headers=bearer("plt_wrong")), 401)


def test_me_answers_with_the_token_owner(client, agent):
    response = client.get("/api/v1/me", headers=bearer(make_token(agent)))
    assert response.status_code == 200
    assert response.get_json()["email"] == agent.email


def test_an_api_key_is_not_a_staff_token(client, agent):
    key = make_api_key()
    assert_error_shape(client.get("/api/v1/me", headers=bearer(key)), 401)


def test_token_of_a_deactivated_user_stops_working(client, agent):
    from crm.auth.service import set_user_active

    headers = bearer(make_token(agent))
    set_user_active(agent, False)
    assert_error_shape(client.get("/api/v1/me", headers=headers), 401)


def test_openapi_document_describes_the_api(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/me" in document["paths"]
    assert "Error" in document["components"]["schemas"]
