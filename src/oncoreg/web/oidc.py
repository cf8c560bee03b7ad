"""OpenID Connect sign-in (authorization code flow with PKCE), e.g. HelseID.

``begin`` makes the provider URL to send the browser to and the pending state (state, nonce, PKCE
verifier) to keep in the session; ``finish`` checks the returned state, exchanges the code at the token
endpoint and verifies the ID token (signature against the provider's JWKS, issuer, audience, expiry,
nonce), returning its claims. The provider's metadata (``/.well-known/openid-configuration``) and JWKS are
fetched from the configured issuer at sign-in time through ``_client()`` (``TRANSPORT`` lets the tests
answer in-process). Mapping the claims to a local user is the router's work; roles stay local.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from oncoreg.config import Settings

TRANSPORT: httpx.BaseTransport | None = None  # None: the network; tests put an httpx.MockTransport here
TIMEOUT = 10.0  # seconds per request to the provider
ALGORITHMS = ["RS256", "PS256", "ES256"]
LEEWAY = 60  # seconds of clock skew accepted on exp/iat


class OidcError(Exception):
    """The provider's answer or the ID token is not acceptable (the sign-in is refused)."""


@dataclass(frozen=True)
class Pending:
    """What the session keeps between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str
    next: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier, "next": self.next}

    @classmethod
    def from_dict(cls, data: object) -> Pending | None:
        if not isinstance(data, dict):
            return None
        values = [data.get(k) for k in ("state", "nonce", "verifier", "next")]
        strings = [v for v in values if isinstance(v, str) and v]
        if len(strings) != len(values):
            return None
        return cls(*strings)


def configured(settings: Settings) -> bool:
    """Whether OIDC sign-in is offered (an issuer and a client id are set)."""
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def _client() -> httpx.Client:
    return httpx.Client(transport=TRANSPORT, timeout=TIMEOUT, follow_redirects=False)


def _get_json(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"provider request failed: {url}") from exc
    if not isinstance(data, dict):
        raise OidcError(f"provider answer is not an object: {url}")
    return data


def metadata(settings: Settings, client: httpx.Client) -> dict[str, Any]:
    """The provider's discovery document (its issuer must be the configured one)."""
    issuer = (settings.oidc_issuer or "").rstrip("/")
    meta = _get_json(client, f"{issuer}/.well-known/openid-configuration")
    if meta.get("issuer") != settings.oidc_issuer and meta.get("issuer") != issuer:
        raise OidcError("provider metadata names another issuer")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(key), str):
            raise OidcError(f"provider metadata lacks {key}")
    return meta


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin(settings: Settings, *, redirect_uri: str, next: str) -> tuple[str, Pending]:
    """The authorization URL to redirect to, and the pending state for the session."""
    pending = Pending(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        next=next,
    )
    with _client() as client:
        meta = metadata(settings, client)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id or "",
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": _challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = meta["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending


def verify_id_token(
    settings: Settings, *, id_token: str, jwks: dict[str, Any], nonce: str, now: int | None = None
) -> dict[str, Any]:
    """The claims of ``id_token`` after checking signature, issuer, audience, expiry and nonce."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        registry = JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY,
            iss={"essential": True, "value": settings.oidc_issuer or ""},
            aud={"essential": True, "value": settings.oidc_client_id or ""},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OidcError(f"ID token refused: {exc}") from exc
    claims = dict(token.claims)
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise OidcError("ID token refused: azp is not this client")
    return claims


def finish(
    settings: Settings, *, pending: Pending, state: str, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Exchange ``code`` and return the verified ID token claims (raises :class:`OidcError`)."""
    if not secrets.compare_digest(state.encode(), pending.state.encode()):
        raise OidcError("state does not match")
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": pending.verifier,
        "client_id": settings.oidc_client_id or "",
    }
    with _client() as client:
        meta = metadata(settings, client)
        try:
            response = client.post(
                meta["token_endpoint"],
                data=form,
                auth=httpx.BasicAuth(settings.oidc_client_id or "", secret) if secret else httpx.Auth(),
                headers={"Accept": "application/json"},
            )
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("token exchange failed") from exc
        id_token = answer.get("id_token") if isinstance(answer, dict) else None
        if not isinstance(id_token, str):
            raise OidcError("token answer has no id_token")
        jwks = _get_json(client, meta["jwks_uri"])
    return verify_id_token(settings, id_token=id_token, jwks=jwks, nonce=pending.nonce)
