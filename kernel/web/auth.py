"""Who is calling: bearer tokens for the API.

Tokens are random 32-byte strings shown once; the database keeps only their
SHA-256, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from ..errors import Unauthorized, ValidationError
from ..models import ApiToken, User
from ..passwords import verify
from ..records import Actor
from ..site import Site

TOKENS = ApiToken.__table__
USERS = User.__table__
DEFAULT_TOKEN_TTL = timedelta(days=30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(site: Site, user_id: int, *, name: str = "", ttl: timedelta | None = DEFAULT_TOKEN_TTL) -> dict[str, Any]:
    """Create a token for ``user_id``; the plaintext is in the result and nowhere else."""
    token = secrets.token_urlsafe(32)
    now = site.clock.now()
    expires = now + ttl if ttl is not None else None
    with site.engine.begin() as conn:
        token_id = conn.execute(
            sa.insert(TOKENS)
            .values(user_id=user_id, name=name, token_hash=token_hash(token), created_at=now, expires_at=expires)
            .returning(TOKENS.c.id)
        ).scalar_one()
    return {"id": token_id, "token": token, "expires_at": expires}


def actor_for_user(row: Any, *, channel: str, ip: str | None) -> Actor:
    return Actor(user_id=row.id, label=row.email, role=row.role, team_id=row.team_id, channel=channel, ip=ip)


def login(site: Site, email: Any, password: Any) -> Any:
    """The active user with this email and password, or :class:`Unauthorized`."""
    if not isinstance(email, str) or not isinstance(password, str):
        raise ValidationError.at(["body"], "email and password must be strings")
    with site.engine.connect() as conn:
        user = conn.execute(sa.select(USERS).where(USERS.c.email == email.strip().lower())).first()
    if user is None or not user.active or not verify(site.passwords, user.password_hash, password):
        raise Unauthorized("wrong email or password")
    return user


def authenticate(site: Site, request: Request) -> Actor:
    """The actor behind the request's ``Authorization: Bearer`` header, or :class:`Unauthorized`."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    now = site.clock.now()
    query = (
        sa.select(USERS)
        .join(TOKENS, TOKENS.c.user_id == USERS.c.id)
        .where(
            TOKENS.c.token_hash == token_hash(token.strip()),
            TOKENS.c.revoked_at.is_(None),
            sa.or_(TOKENS.c.expires_at.is_(None), TOKENS.c.expires_at > now),
            USERS.c.active.is_(True),
        )
    )
    with site.engine.connect() as conn:
        user = conn.execute(query).first()
    if user is None:
        raise Unauthorized("the API token is unknown, expired or revoked")
    return actor_for_user(user, channel="api", ip=request.client.host if request.client else None)


async def create_token(request: Request) -> JSONResponse:
    """``POST /api/v1/auth/token`` ``{"email", "password"}`` → ``{"token", "id", "expires_at"}``."""
    site: Site = request.app.state.site
    try:
        body = await request.json()
    except ValueError:
        raise ValidationError.at(["body"], "is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    user = login(site, body.get("email"), body.get("password"))
    issued = issue_token(site, user.id, name=str(body.get("name") or "api"))
    return JSONResponse({**issued, "expires_at": issued["expires_at"].isoformat() if issued["expires_at"] else None}, status_code=201)


def auth_routes() -> list[BaseRoute]:
    """Routes mounted under ``/api/v1/auth``."""
    return [Route("/token", create_token, methods=["POST"])]
