"""OAuth2 access tokens for IMAP XOAUTH2 (Microsoft 365, Gmail): the refresh grant and its cache.

A mailbox's XOAUTH2 secret is either an access token itself (someone else keeps it fresh) or the
JSON of a refresh grant, ``{"token_url", "client_id", "client_secret", "refresh_token"}`` (and an
optional ``"scope"``, which Microsoft's v2 endpoint wants: ``https://outlook.office365.com/IMAP.AccessAsUser.All offline_access``).
Access tokens are cached in memory until shortly before they expire, so a poll every minute does
not ask the provider every minute. Providers may rotate the refresh token (Microsoft does): the new
one is returned to the caller, which stores it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import httpx

from portal.mail.secrets import SecretError

GRANT_KEYS = ("token_url", "client_id", "client_secret", "refresh_token")
EXPIRY_MARGIN_SECONDS = 120  # refresh this long before the provider says the token expires
DEFAULT_LIFETIME_SECONDS = 3600  # when the answer has no expires_in
HTTP_TIMEOUT_SECONDS = 20.0
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class TokenError(Exception):
    """The token endpoint could not be asked, or refused: the message is for an admin (no secrets)."""


@dataclass(frozen=True)
class RefreshGrant:
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    scope: str = ""

    def as_json(self) -> str:
        data = {key: getattr(self, key) for key in GRANT_KEYS}
        if self.scope:
            data["scope"] = self.scope
        return json.dumps(data)


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)
    expires_at: float  # time.monotonic()


def parse_grant(secret: str) -> RefreshGrant | None:
    """The refresh grant a secret holds, or None when the secret is an access token itself."""
    text = secret.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SecretError("The OAuth2 secret looks like JSON but cannot be read as JSON.") from error
    missing = [key for key in GRANT_KEYS if not isinstance(data.get(key), str) or not data[key]]
    if missing:
        raise SecretError(f"The OAuth2 secret lacks {', '.join(missing)}.")
    scope = data.get("scope", "")
    url = urlsplit(data["token_url"])
    if url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK):
        raise SecretError("The OAuth2 token_url must be an https:// address.")
    return RefreshGrant(
        token_url=data["token_url"],
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        refresh_token=data["refresh_token"],
        scope=scope if isinstance(scope, str) else "",
    )


_cache: dict[str, AccessToken] = {}


def _key(grant: RefreshGrant) -> str:
    material = "\0".join((grant.token_url, grant.client_id, grant.refresh_token))
    return hashlib.sha256(material.encode()).hexdigest()


def forget(grant: RefreshGrant) -> None:
    """Drop the cached token (the server refused it: the next login refreshes)."""
    _cache.pop(_key(grant), None)


async def access_token(grant: RefreshGrant) -> tuple[str, RefreshGrant | None]:
    """A valid access token, and the grant to store from now on when the provider rotated the
    refresh token (else None)."""
    now = time.monotonic()
    cached = _cache.get(_key(grant))
    if cached and cached.expires_at - EXPIRY_MARGIN_SECONDS > now:
        return cached.token, None
    answer = await _refresh(grant)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError("The OAuth2 token endpoint answered without an access_token.")
    lifetime = answer.get("expires_in", DEFAULT_LIFETIME_SECONDS)
    fresh = AccessToken(token, now + _seconds(lifetime))
    for stale in [key for key, value in _cache.items() if value.expires_at <= now]:
        del _cache[stale]
    _cache[_key(grant)] = fresh
    rotated = answer.get("refresh_token")
    if isinstance(rotated, str) and rotated and rotated != grant.refresh_token:
        newer = replace(grant, refresh_token=rotated)
        _cache[_key(newer)] = fresh
        return token, newer
    return token, None


def _seconds(value: object) -> float:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return float(DEFAULT_LIFETIME_SECONDS)


async def _refresh(grant: RefreshGrant) -> dict[str, object]:
    """POST the refresh grant (RFC 6749 §6), client credentials in the form as both providers accept."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": grant.refresh_token,
        "client_id": grant.client_id,
        "client_secret": grant.client_secret,
    }
    if grant.scope:
        form["scope"] = grant.scope
    host = urlsplit(grant.token_url).netloc
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
            response = await client.post(grant.token_url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise TokenError(f"The OAuth2 token endpoint {host} cannot be reached ({type(error).__name__}).") from error
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TokenError(f"The OAuth2 token endpoint {host} answered {response.status_code} without JSON.")
    if response.status_code != 200:
        reason = ": ".join(str(answer[key]) for key in ("error", "error_description") if answer.get(key))
        raise TokenError(f"The OAuth2 token endpoint refused the refresh ({response.status_code}): {reason}"[:300])
    return answer
