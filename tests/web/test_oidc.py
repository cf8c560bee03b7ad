"""OIDC sign-in against a fake provider served in-process (httpx.MockTransport, no socket)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from test_route_walk import api_routes
from web_helpers import BASE_URL, user_name_of

from oncoreg.config import load_settings
from oncoreg.registry import Registry
from oncoreg.web import oidc, users
from oncoreg.web.app import create_app
from oncoreg.web.roles import Role

ISSUER = "https://idp.test"
CLIENT_ID = "oncoreg-test"


class FakeProvider:
    """Discovery, JWKS and a token endpoint that checks PKCE and returns an ID token."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.claims: dict[str, Any] = {}
        self.signing_key = self.key
        self.challenge = ""

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "hpr-123",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "preferred_username": user_name_of(Role.registrar),
        }
        claims.update(self.claims)
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.signing_key)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        if path == "/jwks":
            return httpx.Response(200, json=KeySet([self.key]).as_dict(private=False))
        if path == "/token" and request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            digest = hashlib.sha256(form["code_verifier"].encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != self.challenge:
                return httpx.Response(400, json={"error": "invalid_grant"})
            nonce = json.loads(form["code"])["nonce"]
            return httpx.Response(200, json={"id_token": self.id_token(nonce), "token_type": "Bearer"})
        return httpx.Response(404)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    fake = FakeProvider()
    monkeypatch.setattr(oidc, "TRANSPORT", httpx.MockTransport(fake))
    return fake


@pytest.fixture
def oidc_app(tmp_path: Path, registry: Registry, accounts: dict[Role, int]) -> FastAPI:
    settings = load_settings(
        environment="test",
        secret_key="test-secret-" + "k" * 32,
        data_dir=tmp_path,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret="client-secret",
    )
    return create_app(settings=settings, registry=registry)


@pytest.fixture
def browser(oidc_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(oidc_app, base_url=BASE_URL) as client:
        yield client


def _start(browser: TestClient, provider: FakeProvider) -> dict[str, str]:
    response = browser.get("/login/oidc?next=/persons", follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT_ID
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"].endswith("/login/oidc/callback")
    provider.challenge = query["code_challenge"]
    return query


def _callback(browser: TestClient, query: dict[str, str], *, state: str | None = None) -> httpx.Response:
    code = json.dumps({"nonce": query["nonce"]})  # the fake provider's code carries the nonce it was given
    return browser.get(
        "/login/oidc/callback",
        params={"code": code, "state": state or query["state"]},
        follow_redirects=False,
    )


def test_happy_path_signs_in_the_mapped_user(browser: TestClient, provider: FakeProvider) -> None:
    assert "/login/oidc" in browser.get("/login").text
    response = _callback(browser, _start(browser, provider))
    assert response.status_code == 303
    assert response.headers["location"] == "/persons"
    me = browser.get("/api/me")
    assert me.status_code == 200
    assert me.json()["user"]["user_name"] == user_name_of(Role.registrar)


def test_routes_are_public(oidc_app: FastAPI) -> None:
    declared = {path: roles for _, path, roles in api_routes(oidc_app)}
    assert declared["/login/oidc"] is None
    assert declared["/login/oidc/callback"] is None


def test_wrong_state_is_refused(browser: TestClient, provider: FakeProvider) -> None:
    response = _callback(browser, _start(browser, provider), state="forged")
    assert response.status_code == 403
    assert "could not be verified" in response.text
    assert browser.get("/api/me").status_code == 401


def test_callback_without_start_is_refused(browser: TestClient, provider: FakeProvider) -> None:
    response = browser.get("/login/oidc/callback", params={"code": "x", "state": "y"}, follow_redirects=False)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "another-client"}, id="wrong-audience"),
        pytest.param({"iss": "https://evil.test"}, id="wrong-issuer"),
        pytest.param({"nonce": "replayed"}, id="wrong-nonce"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
    ],
)
def test_bad_tokens_are_refused(browser: TestClient, provider: FakeProvider, claims: dict[str, Any]) -> None:
    provider.claims = claims
    response = _callback(browser, _start(browser, provider))
    assert response.status_code == 403
    assert "could not be verified" in response.text
    assert browser.get("/api/me").status_code == 401


def test_unknown_user_is_refused(browser: TestClient, provider: FakeProvider) -> None:
    provider.claims = {"preferred_username": "nobody-here"}  # no auto-provisioning
    response = _callback(browser, _start(browser, provider))
    assert response.status_code == 403
    assert "No active account" in response.text
    assert browser.get("/api/me").status_code == 401


def test_bad_signature_is_refused(browser: TestClient, provider: FakeProvider) -> None:
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # not the published key
    response = _callback(browser, _start(browser, provider))
    assert response.status_code == 403
    assert "could not be verified" in response.text
    assert browser.get("/api/me").status_code == 401


def test_disabled_user_is_refused(
    browser: TestClient, provider: FakeProvider, registry: Registry, accounts: dict[Role, int]
) -> None:
    users.set_active(registry, actor="test", user_id=accounts[Role.registrar], active=False)
    response = _callback(browser, _start(browser, provider))
    assert response.status_code == 403
    assert "No active account" in response.text
    assert browser.get("/api/me").status_code == 401


def test_routes_404_when_not_configured(anonymous: TestClient) -> None:
    assert anonymous.get("/login/oidc", follow_redirects=False).status_code == 404
    assert anonymous.get("/login/oidc/callback", follow_redirects=False).status_code == 404
    assert "/login/oidc" not in anonymous.get("/login").text
