"""Who is calling: bearer tokens for scripts, session cookies for browsers.

Tokens are random 32-byte strings shown once; the database keeps only their
SHA-256, so a leaked database does not leak usable tokens. They expire (30 days
by default), can be listed and revoked, and remember when they were last used
(written at most once a minute). Browser sessions are described in
:mod:`kernel.web.sessions`; a cookie-authenticated request that changes
something must carry the session's CSRF token (header ``X-CSRF-Token`` or form
field ``csrf_token``). Failed logins are throttled (:mod:`kernel.web.throttle`).

Sessions and tokens carry the user's credentials version (``kernel_users.credentials_version``,
moved on by a new password, a new role or deactivation, see :mod:`kernel.core`): one issued under
an older version is refused. The user behind a token or a session is read on every request.

Routes under ``/api/v1/auth``: ``POST token``, ``POST login``, ``POST logout``,
``GET me``, ``GET tokens``, ``DELETE tokens/{id}``, ``POST register``, ``POST password``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pydantic
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .. import audit, preferences
from ..errors import Forbidden, NotFound, Unauthorized, ValidationError
from ..models import ApiToken, User
from ..parsing import optional_id, parse_id
from ..passwords import PASSWORD_MAX, verify, weakness
from ..permissions import is_admin
from ..records import Actor, pydantic_details
from ..site import Site
from . import proxies, sessions, throttle
from .payload import read_json

TOKENS = ApiToken.__table__
USERS = User.__table__
DEFAULT_TOKEN_TTL = timedelta(days=30)
LAST_USED_RESOLUTION = timedelta(minutes=1)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TOKEN_FIELDS = ("id", "user_id", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
USER_FIELDS = ("id", "email", "name", "role", "team_id", "active")
EMAIL_MAX = 254
TOKEN_NAME_MAX = 120
WRONG_CURRENT = "This is not your current password."
TOKEN_MAX = 200  # issued tokens have 43 characters; anything much longer is not one


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    site: Site,
    user_id: int,
    *,
    name: str = "",
    ttl: timedelta | None = DEFAULT_TOKEN_TTL,
    actor: Actor | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """Create a token for ``user_id`` (audited); the plaintext is in the result and nowhere else.

    The token lives while the user's credentials version is ``version`` (the one the password was
    checked against; by default the one stored now)."""
    token = secrets.token_urlsafe(32)
    now = site.clock.now()
    expires = now + ttl if ttl is not None else None
    with site.write() as conn:
        token_id = conn.execute(
            sa.insert(TOKENS)
            .values(
                user_id=user_id,
                name=name,
                token_hash=token_hash(token),
                created_at=now,
                expires_at=expires,
                credentials_version=sessions.current_version(user_id, version),
            )
            .returning(TOKENS.c.id)
        ).scalar_one()
        changes = audit.jsonable({"token_id": token_id, "name": name, "expires_at": expires})
        audit.write(conn, [audit.entry(actor or Actor.system(), now, "users", user_id, "token_create", changes)])
    return {"id": token_id, "token": token, "expires_at": expires}


def actor_for_user(row: Any, *, channel: str, ip: str | None) -> Actor:
    return Actor(user_id=row.id, label=row.email, role=row.role, team_id=row.team_id, channel=channel, ip=ip)


def client_ip(request: Request) -> str | None:
    """The caller's IP address (behind a trusted proxy: as :mod:`kernel.web.proxies` resolved it), or ``None``."""
    found = proxies.address(request.client.host) if request.client else None
    return str(found) if found is not None else None


def login(site: Site, email: Any, password: Any, *, ip: str | None = None, channel: str = "api", audit_success: bool = True) -> Any:
    """The active user with this email and password, or :class:`Unauthorized`.

    Throttled per account and per IP (the attempt is counted before the password is
    checked, see :func:`kernel.web.throttle.reserve`); every success and failure is
    audited. Every attempt that gets past the throttle checks exactly one hash with the
    site's parameters — for an unknown email, an inactive user or one without a password
    too — so the time taken does not tell which emails have accounts.
    """
    email, password = login_input(email, password)
    now = site.clock.now()
    anonymous = Actor(user_id=None, label=email, channel=channel, ip=ip)
    with site.engine.connect() as conn:
        user = conn.execute(sa.select(USERS).where(USERS.c.email == email)).first()
    user_id = user.id if user is not None else None
    with site.write() as conn:
        refused = throttle.reserve(conn, email, ip, now)
        if refused is not None:
            audit.write(conn, [audit.entry(anonymous, now, "users", user_id, "login_failed", {"reason": "rate_limited"})])
    if refused is not None:
        raise refused
    matches = verify(site.passwords, user.password_hash if user is not None else None, password)
    if user is None or not matches or not user.active:
        with site.write() as conn:
            audit.write(conn, [audit.entry(anonymous, now, "users", user_id, "login_failed", {"reason": "wrong email or password"})])
        raise Unauthorized("wrong email or password")
    with site.write() as conn:
        throttle.clear(conn, email)
        if audit_success:
            audit.write(conn, [audit.entry(actor_for_user(user, channel=channel, ip=ip), now, "users", user.id, "login", {})])
    return user


def login_input(email: Any, password: Any) -> tuple[str, str]:
    """The email (trimmed, lower case) and password of a login, checked before any work is done."""
    for name, value, longest in (("email", email, EMAIL_MAX), ("password", password, PASSWORD_MAX)):
        if not isinstance(value, str):
            raise ValidationError.at(["body", name], "must be a string")
        if len(value) > longest:
            raise ValidationError.at(["body", name], f"must be at most {longest} characters")
    return email.strip().lower(), password


def change_password(
    site: Site, actor: Actor, current: Any, new: Any, *, keep: Callable[[sa.Connection, int], None]
) -> None:
    """The signed-in ``actor`` replaces their password, giving the current one (checked like a login:
    throttled, audited when wrong). The credentials version moves on, which ends every other session
    and token of the user; ``keep(conn, version)`` carries the caller's own one over, in the same
    transaction as the change."""
    for name, value in (("current_password", current), ("new_password", new)):
        if not isinstance(value, str) or not value:
            raise ValidationError.at(["body", name], "is required")
    with site.engine.connect() as conn:
        email = conn.scalar(sa.select(USERS.c.email).where(USERS.c.id == actor.user_id))
    problem = weakness(new, email)
    if problem is not None:
        raise ValidationError.at(["body", "new_password"], problem)
    try:
        login(site, email, current, ip=actor.ip, channel=actor.channel, audit_success=False)
    except Unauthorized:
        raise ValidationError.at(["body", "current_password"], WRONG_CURRENT) from None
    with site.write() as conn:
        # one's own password needs no users.update permission: a system action, audited as the user
        site.records.update(actor.elevated("own password change"), "users", actor.user_id, {"password": new}, conn=conn)
        keep(conn, conn.scalar(sa.select(USERS.c.credentials_version).where(USERS.c.id == actor.user_id)))


def authenticate(site: Site, request: Request, *, csrf_token: str | None = None) -> Actor:
    """The actor behind a bearer token or a session cookie, or :class:`Unauthorized`.

    With a cookie, a request whose method changes something must carry the
    session's CSRF token: in the ``X-CSRF-Token`` header, or as ``csrf_token``
    read from a form by the caller (see :func:`authenticate_form`); otherwise 403.
    """
    actor = _bearer(site, request) if request.headers.get("authorization") else _session(site, request, csrf_token)
    request.state.crm_user_id = actor.user_id  # the error envelope speaks the user's language
    return actor


def _session(site: Site, request: Request, csrf_token: str | None) -> Actor:
    sid = sessions.session_id(site, request)
    if sid is None:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>', or sign in")
    with site.engine.connect() as conn:
        user = conn.execute(sessions.user_query(sid, site.clock.now())).first()
    if user is None:
        raise Unauthorized("the session has ended; sign in again")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(sessions.CSRF_HEADER) or csrf_token
        if not sessions.csrf_matches(site, sid, sent):
            where = ["header", sessions.CSRF_HEADER] if not csrf_token else ["body", sessions.CSRF_FIELD]
            raise Forbidden("missing or wrong CSRF token", [{"loc": where, "msg": "must be the csrf_token given at sign-in"}])
    return actor_for_user(user, channel="ui", ip=client_ip(request))


async def authenticate_form(site: Site, request: Request) -> Actor:
    """:func:`authenticate` for HTML form posts: the CSRF token may come in the form field ``csrf_token``."""
    sent = None
    if request.method not in SAFE_METHODS and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(sessions.CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return authenticate(site, request, csrf_token=sent)


def _bearer(site: Site, request: Request) -> Actor:
    """The token's user, read on every request: a revoked or expired token, a deactivated user, or
    credentials changed since the token was issued (password, role, deactivation) refuse it at
    once in every process; the role and team come from the user's row as it is now."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > TOKEN_MAX:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    now = site.clock.now()
    with site.engine.connect() as conn:
        user = conn.execute(_BEARER_QUERY, {"digest": token_hash(token.strip())}).first()
    if user is None or (user.expires_at is not None and user.expires_at <= now):
        raise Unauthorized("the API token is unknown, expired or revoked")
    if user.last_used_at is None or user.last_used_at <= now - LAST_USED_RESOLUTION:
        _mark_used(site, user.token_id, now)
    return actor_for_user(user, channel="api", ip=client_ip(request))


#: Built once: the statement is the same for every request, only the digest changes.
_BEARER_QUERY = (
    sa.select(USERS, TOKENS.c.id.label("token_id"), TOKENS.c.last_used_at, TOKENS.c.expires_at)
    .join(TOKENS, TOKENS.c.user_id == USERS.c.id)
    .where(
        TOKENS.c.token_hash == sa.bindparam("digest"),
        TOKENS.c.revoked_at.is_(None),
        TOKENS.c.credentials_version == USERS.c.credentials_version,
        USERS.c.active.is_(True),
    )
)


def _mark_used(site: Site, token_id: int, now: datetime) -> None:
    stale = sa.or_(TOKENS.c.last_used_at.is_(None), TOKENS.c.last_used_at <= now - LAST_USED_RESOLUTION)
    with site.write() as conn:
        conn.execute(sa.update(TOKENS).where(TOKENS.c.id == token_id, stale).values(last_used_at=now))


# -- endpoints --------------------------------------------------------------------------


def _site(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


async def _body(request: Request) -> dict[str, Any]:
    """A JSON object, or the fields of a form."""
    if "form" in request.headers.get("content-type", ""):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        body = await request.json()
    except ValueError:
        raise ValidationError.at(["body"], "is not valid JSON (or send a form)") from None
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    return body


async def _json(request: Request) -> dict[str, Any]:
    """A JSON object; a form is refused (a cross-site page can post a form, never JSON without asking)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise ValidationError.at(["header", "content-type"], "must be application/json")
    return await _body(request)


def _iso(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    mapping = row._mapping
    return {k: mapping[k].isoformat() if isinstance(mapping[k], datetime) else mapping[k] for k in fields}


async def create_token(request: Request) -> JSONResponse:
    """``POST /api/v1/auth/token`` ``{"email", "password", "name"?}`` → ``{"token", "id", "expires_at"}``."""
    site = _site(request)
    body = await _body(request)
    name = body.get("name") or "api"
    if not isinstance(name, str) or len(name) > TOKEN_NAME_MAX:
        raise ValidationError.at(["body", "name"], f"must be a text of at most {TOKEN_NAME_MAX} characters")
    user = login(site, body.get("email"), body.get("password"), ip=client_ip(request))
    actor = actor_for_user(user, channel="api", ip=client_ip(request))
    issued = issue_token(site, user.id, name=name, actor=actor, version=user.credentials_version)
    return JSONResponse({**issued, "expires_at": issued["expires_at"].isoformat() if issued["expires_at"] else None}, status_code=201)


async def login_session(request: Request) -> JSONResponse:
    """``POST /api/v1/auth/login`` ``{"email", "password"}``: a new session cookie and its CSRF token.

    Against login CSRF (another site signing the browser in to an account of its choosing) it takes
    JSON only — a page on another site can post a form, never JSON without the browser asking first —
    and refuses a request that says it comes from another origin (``Origin``, ``Referer`` or
    ``Sec-Fetch-Site``). The browser UI signs in at ``/login``, with its own double-submit token.
    """
    site = _site(request)
    refuse_cross_site(request)
    body = await _json(request)
    ip = client_ip(request)
    user = login(site, body.get("email"), body.get("password"), ip=ip, channel="ui")
    with site.write() as conn:
        sid = sessions.start(site, conn, user.id, ip=ip, replacing=sessions.session_id(site, request), version=user.credentials_version)
    response = JSONResponse({"user": _iso(user, USER_FIELDS), "csrf_token": sessions.csrf_token(site, sid)})
    sessions.set_cookie(site, request, response, sid)
    return response


def refuse_cross_site(request: Request) -> None:
    """403 unless the request comes from this site's own pages, or from no page at all (a script)."""
    fetch_site = request.headers.get("sec-fetch-site")
    source = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host", "").lower()
    foreign = fetch_site is not None and fetch_site not in ("same-origin", "none")
    if source is not None:
        foreign = foreign or source == "null" or urlsplit(source).netloc.lower() != host
    if foreign:
        raise Forbidden(
            "signing in from another site's page is refused",
            [{"loc": ["header", "origin"], "msg": "must be this site (or absent, for scripts)"}],
        )


async def logout(request: Request) -> Response:
    """``POST /api/v1/auth/logout``: ends the cookie's session (CSRF token required)."""
    site = _site(request)
    actor = await authenticate_form(site, request)
    sid = sessions.session_id(site, request)
    response = Response(status_code=204)
    if sid is not None and request.headers.get("authorization") is None:
        with site.write() as conn:
            sessions.end(conn, sid)
            audit.write(conn, [audit.entry(actor, site.clock.now(), "users", actor.user_id, "logout", {})])
        sessions.clear_cookie(request, response)
    return response


async def me(request: Request) -> JSONResponse:
    """``GET /api/v1/auth/me``: the caller, and the CSRF token when signed in with a cookie."""
    site = _site(request)
    actor = authenticate(site, request)
    with site.engine.connect() as conn:
        user = conn.execute(sa.select(USERS).where(USERS.c.id == actor.user_id)).one()
    sid = sessions.session_id(site, request) if request.headers.get("authorization") is None else None
    return JSONResponse({"user": _iso(user, USER_FIELDS), "csrf_token": sessions.csrf_token(site, sid) if sid else None})


async def my_preferences(request: Request) -> JSONResponse:
    """``GET /api/v1/auth/preferences``: the caller's choices (``locale``, ``time_zone``; null: the
    site's default); ``PUT`` with some of them changes those (one 422 names a bad one)."""
    site = _site(request)
    actor = authenticate(site, request)
    if actor.user_id is None:
        raise Forbidden("only a user has preferences")
    if request.method == "PUT":
        body = await read_json(request)
        if not isinstance(body, dict) or not body:
            raise ValidationError.at(["body"], f"must be an object with some of {', '.join(preferences.KNOWN)}")
        for name, value in body.items():  # every value checked before any is stored
            if name not in preferences.KNOWN or not preferences.KNOWN[name][1](value):
                raise ValidationError.at([name], f"must be {preferences.KNOWN[name][0]}" if name in preferences.KNOWN else "is not a preference")
        for name, value in body.items():
            preferences.put(site, actor.user_id, name, value)
    with site.engine.connect() as conn:
        return JSONResponse({name: preferences.get(site, actor.user_id, name, conn=conn) for name in preferences.KNOWN})


async def list_tokens(request: Request) -> JSONResponse:
    """``GET /api/v1/auth/tokens[?user_id=N]``: the caller's tokens (an admin may name another user)."""
    site = _site(request)
    actor = authenticate(site, request)
    raw = request.query_params.get("user_id")
    user_id = actor.user_id
    if raw is not None:
        user_id = parse_id(raw, ["query", "user_id"])
        if user_id != actor.user_id and not is_admin(actor):
            raise Forbidden("only an admin may list another user's tokens", [{"loc": ["query", "user_id"], "msg": "not yours"}])
    query = sa.select(*(TOKENS.c[k] for k in TOKEN_FIELDS)).where(TOKENS.c.user_id == user_id).order_by(TOKENS.c.id.desc())
    with site.engine.connect() as conn:
        items = [_iso(row, TOKEN_FIELDS) for row in conn.execute(query)]
    return JSONResponse({"items": items})


async def revoke_token(request: Request) -> Response:
    """``DELETE /api/v1/auth/tokens/{id}``: revoke one of the caller's tokens (an admin: anyone's)."""
    site = _site(request)
    actor = authenticate(site, request)
    token_id = request.path_params["id"]
    if optional_id(token_id) is None:
        raise NotFound(f"no token with id {token_id}", [{"loc": ["path", "id"], "msg": "unknown token"}])
    mine = TOKENS.c.id == token_id
    if not is_admin(actor):
        mine = sa.and_(mine, TOKENS.c.user_id == actor.user_id)
    now = site.clock.now()
    with site.write() as conn:
        token = conn.execute(sa.select(TOKENS.c.user_id, TOKENS.c.revoked_at).where(mine)).first()
        if token is None:
            raise NotFound(f"no token with id {token_id}", [{"loc": ["path", "id"], "msg": "unknown token"}])
        if token.revoked_at is None:
            conn.execute(sa.update(TOKENS).where(TOKENS.c.id == token_id).values(revoked_at=now))
            audit.write(conn, [audit.entry(actor, now, "users", token.user_id, "token_revoke", {"token_id": token_id})])
    return Response(status_code=204)


async def password(request: Request) -> JSONResponse:
    """``POST /api/v1/auth/password`` ``{"current_password", "new_password"}``: change one's own password.

    Every other session and token of the user ends; the one that sent the request goes on (a cookie
    gets a new session id and CSRF token, which the answer carries)."""
    site = _site(request)
    actor = authenticate(site, request)
    body = await _json(request)
    sent = request.headers.get("authorization")
    new_sid: list[str] = []

    def keep(conn: sa.Connection, version: int) -> None:
        if sent is not None:
            digest = token_hash(sent.partition(" ")[2].strip())
            conn.execute(sa.update(TOKENS).where(TOKENS.c.token_hash == digest).values(credentials_version=version))
        else:
            replacing = sessions.session_id(site, request)
            new_sid.append(sessions.start(site, conn, actor.user_id, ip=actor.ip, replacing=replacing, version=version))

    change_password(site, actor, body.get("current_password"), body.get("new_password"), keep=keep)
    with site.engine.connect() as conn:
        user = conn.execute(sa.select(USERS).where(USERS.c.id == actor.user_id)).one()
    response = JSONResponse({"user": _iso(user, USER_FIELDS), "csrf_token": sessions.csrf_token(site, new_sid[0]) if new_sid else None})
    if new_sid:
        sessions.set_cookie(site, request, response, new_sid[0])
    return response


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str
    password: str
    name: str = ""


async def register(request: Request) -> JSONResponse:
    """``POST /api/v1/auth/register``: a new inactive user waiting for an admin (when turned on)."""
    site = _site(request)
    if not site.settings.allow_registration:
        raise Forbidden("self-registration is turned off on this site")
    try:
        fields = Registration.model_validate(await _body(request))
    except pydantic.ValidationError as exc:
        raise pydantic_details(exc, ["body"]) from None
    actor = Actor(user_id=None, label="self-registration", role="admin", channel="api", ip=client_ip(request), raised_for="self-registration")
    user = site.records.create(actor, "users", {**fields.model_dump(), "active": False})
    return JSONResponse({k: user[k] for k in ("id", "email", "name", "active")}, status_code=201)


def auth_routes() -> list[BaseRoute]:
    """Routes mounted under ``/api/v1/auth``."""
    return [
        Route("/token", create_token, methods=["POST"], name="token"),
        Route("/login", login_session, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/me", me, methods=["GET"], name="me"),
        Route("/preferences", my_preferences, methods=["GET", "PUT"], name="preferences"),
        Route("/tokens", list_tokens, methods=["GET"], name="tokens"),
        Route("/tokens/{id:int}", revoke_token, methods=["DELETE"], name="token_revoke"),
        Route("/register", register, methods=["POST"], name="register"),
        Route("/password", password, methods=["POST"], name="password"),
    ]
