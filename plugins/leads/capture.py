"""Lead capture: web forms, the API and mail bring leads in, each flagged when it looks like a known
lead or customer (never dropped).

* **Web forms** are the kernel's public forms (``/public/forms/SLUG``, built in *Admin → Public
  forms* on the entity ``leads``: the fields asked, built-in and custom, consent, thank-you,
  submissions per IP per hour): honeypot, the per-IP limit counted in the database, consent per
  contact and the embed snippet are the kernel's. This plugin binds a form to a lead pool
  (``leads_capture_forms``, :func:`bind_form`): a lead created by a visitor of the form gets
  ``source`` ``web_form`` and the form's pool (:func:`prepare`, from ``before_create``).
* **API**: ``POST /api/v1/leads`` by a token; a lead sent without a ``source`` gets ``api``.
* **Mail**: ``crm leads capture-mail FILE.eml`` (or ``-`` for standard input, so a mail server
  can pipe a message to it): :func:`parse_mail` reads the sender's name and address, the subject
  and the body with the standard library's ``email`` package; :func:`capture_mail` creates the
  lead with ``source`` ``email``.

Every captured lead gets a row in ``leads_captures`` (:func:`record_capture`, from
``after_create``, in the write's transaction) with the channel, the form and the look-alikes the
kernel's duplicate detection (``find_duplicates``) found at that moment.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Actor, NotFound, ValidationError, add_audit_entry, jsonable, phone_e164

from .intake_models import CAPTURE_FORMS, CAPTURES

if TYPE_CHECKING:
    from kernel import Site

LEAD = "leads"
POOLS = "lead_pools"
WEB_FORM, API, EMAIL = "web_form", "api", "email"
FORM_ACTOR = "public /public/forms/"
MAIL_CHANNEL = "mail"
#: The kernel's public forms, read-only here (they are edited in Admin → Public forms).
KERNEL_FORMS = sa.table(
    "kernel_forms",
    sa.column("id", sa.BigInteger), sa.column("slug", sa.String), sa.column("entity", sa.String),
    sa.column("title", sa.JSON), sa.column("fields", sa.JSON), sa.column("per_hour", sa.Integer), sa.column("active", sa.Boolean),
    sa.column("consent", sa.JSON),
)
CHANNEL_LABELS = {
    WEB_FORM: {"en": "Web form", "zh_CN": "网页表单"},
    API: {"en": "API", "zh_CN": "API"},
    EMAIL: {"en": "Email", "zh_CN": "邮件"},
}
NOTES_MAX = 4000
PHONE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")


# -- which channel a write came through -----------------------------------------------------------


def channel_of(actor: Actor) -> tuple[str | None, str | None]:
    """``(channel, form slug)`` of a lead's creator: ``web_form`` (a visitor of a public form), ``api``
    (a token), ``email`` (:func:`capture_mail`), else ``(None, None)``."""
    if actor.channel == "public" and actor.label.startswith(FORM_ACTOR):
        return WEB_FORM, actor.label[len(FORM_ACTOR):]
    if actor.channel == "api" and actor.user_id is not None:
        return API, None
    if actor.channel == MAIL_CHANNEL:
        return EMAIL, None
    return None, None


def _pool_exists(site: Site, conn: sa.Connection, pool_id: int) -> bool:
    pools = site.view.entity(POOLS)
    return pools is not None and conn.scalar(sa.select(pools.table.c.id).where(pools.table.c.id == pool_id)) is not None


def prepare(site: Site, conn: sa.Connection, actor: Actor, values: dict[str, Any]) -> None:
    """Before a lead is created: the source of a captured lead, and the pool of its form."""
    channel, slug = channel_of(actor)
    if channel == WEB_FORM:
        values["source"] = WEB_FORM
        if values.get("pool_id") is None:
            pool_id = conn.scalar(sa.select(CAPTURE_FORMS.c.pool_id).where(CAPTURE_FORMS.c.slug == slug))
            if pool_id is not None and _pool_exists(site, conn, pool_id):
                values["pool_id"] = pool_id
    elif channel == API and not values.get("source"):
        values["source"] = API


def record_capture(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any]) -> None:
    """After a captured lead was inserted: log it with its look-alikes (in the same transaction)."""
    channel, slug = channel_of(actor)
    if channel is None:
        return
    found = site.records.find_duplicates(actor.elevated("leads.capture"), LEAD, [record], conn=conn)[0]
    conn.execute(sa.insert(CAPTURES).values(
        lead_id=record["id"], channel=channel, form_slug=slug, duplicate_ids=[list(pair) for pair in found.records],
        hidden_duplicates=found.hidden, at=site.clock.now(),
    ))


# -- forms and their pools ------------------------------------------------------------------------


def lead_forms(site: Site) -> list[dict[str, Any]]:
    """The public forms on leads, each with its pool (``pool_id``) and its captures so far."""
    counts = (
        sa.select(
            CAPTURES.c.form_slug, sa.func.count().label("captured"),
            sa.func.count().filter(sa.or_(CAPTURES.c.hidden_duplicates > 0, sa.func.coalesce(sa.cast(CAPTURES.c.duplicate_ids, sa.String), "[]") != "[]")).label("flagged"),
        )
        .where(CAPTURES.c.channel == WEB_FORM)
        .group_by(CAPTURES.c.form_slug)
        .subquery()
    )
    query = (
        sa.select(KERNEL_FORMS.c.id, KERNEL_FORMS.c.slug, KERNEL_FORMS.c.title, KERNEL_FORMS.c.active, KERNEL_FORMS.c.per_hour,
                  KERNEL_FORMS.c.consent, CAPTURE_FORMS.c.pool_id, counts.c.captured, counts.c.flagged)
        .select_from(KERNEL_FORMS.outerjoin(CAPTURE_FORMS, CAPTURE_FORMS.c.slug == KERNEL_FORMS.c.slug)
                     .outerjoin(counts, counts.c.form_slug == KERNEL_FORMS.c.slug))
        .where(KERNEL_FORMS.c.entity == LEAD)
        .order_by(KERNEL_FORMS.c.slug)
    )
    with site.engine.connect() as conn:
        return [{**row._mapping, "captured": row.captured or 0, "flagged": row.flagged or 0} for row in conn.execute(query)]


def bind_form(site: Site, actor: Actor, slug: Any, pool_id: Any) -> dict[str, Any]:
    """Send the leads of form ``slug`` to pool ``pool_id`` (``None``: the pools' routing rules decide)."""
    if not isinstance(slug, str):
        raise ValidationError.at(["path", "slug"], "must be a form's slug")
    if pool_id is not None and (not isinstance(pool_id, int) or isinstance(pool_id, bool)):
        raise ValidationError.at(["body", "pool_id"], "must be a lead pool's id or null")
    now = site.clock.now()
    with site.write() as conn:
        if conn.scalar(sa.select(KERNEL_FORMS.c.id).where(KERNEL_FORMS.c.slug == slug, KERNEL_FORMS.c.entity == LEAD)) is None:
            raise NotFound(f"no public form {slug!r} on leads", [{"loc": ["path", "slug"], "msg": "no such form on leads"}])
        if pool_id is not None and not _pool_exists(site, conn, pool_id):
            raise ValidationError.at(["body", "pool_id"], f"no lead pool {pool_id}")
        conn.execute(sa.delete(CAPTURE_FORMS).where(CAPTURE_FORMS.c.slug == slug))
        conn.execute(sa.insert(CAPTURE_FORMS).values(slug=slug, pool_id=pool_id, updated_at=now))
        add_audit_entry(conn, actor, "leads.capture_forms", None, "update", jsonable({"slug": slug, "pool_id": pool_id}), at=now)
    return {"slug": slug, "pool_id": pool_id}


def recent_captures(site: Site, actor: Actor, *, flagged_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """The newest captures of leads ``actor`` may see, with their look-alikes (as ids ``actor`` may know)."""
    leads = site.view.entity(LEAD).table
    query = (
        sa.select(CAPTURES, leads.c.name.label("lead_name"))
        .select_from(CAPTURES.join(leads, leads.c.id == CAPTURES.c.lead_id))
        .where(site.records.visible(actor, LEAD))
        .order_by(CAPTURES.c.at.desc(), CAPTURES.c.id.desc())
        .limit(limit)
    )
    if flagged_only:
        query = query.where(sa.or_(CAPTURES.c.hidden_duplicates > 0, sa.cast(CAPTURES.c.duplicate_ids, sa.String) != "[]"))
    with site.engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    return rows


def capture_of(site: Site, lead_id: int) -> dict[str, Any] | None:
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(CAPTURES).where(CAPTURES.c.lead_id == lead_id).order_by(CAPTURES.c.id.desc())).first()
    return dict(row._mapping) if row is not None else None


def _is_source(site: Site, code: str) -> bool:
    """Whether ``code`` is an option of the leads' source list (an admin may have retired it)."""
    listed = site.view.option_lists.get("leads.source")
    return listed is not None and any(option.code == code for option in listed.options)


# -- mail -----------------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _plain(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()


def parse_mail(raw: bytes) -> dict[str, Any]:
    """The sender's name and address (``Reply-To`` first, else ``From``), the subject, the body as plain
    text and the first mainland mobile number in the body, from a message as bytes (RFC 5322)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    senders = [(name, address) for name, address in getaddresses([str(v) for v in (message.get_all("Reply-To") or message.get_all("From") or [])]) if "@" in address]
    if not senders:
        raise ValidationError.at(["mail", "From"], "has no sender address")
    name, address = senders[0]
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        content = body_part.get_content()
        body = _plain(content) if body_part.get_content_type() == "text/html" else str(content).strip()
    phone_match = PHONE.search(body)
    phone = phone_e164(re.sub(r"[ -]", "", phone_match.group(0)), "CN") if phone_match else None
    return {"name": name.strip() or address.split("@")[0], "email": address.strip().lower(), "subject": str(message.get("Subject") or "").strip(),
            "body": body, "phone": phone}


def mail_lead(parsed: dict[str, Any], pool_id: int | None, source: str | None = EMAIL) -> dict[str, Any]:
    """The lead a parsed message becomes (``source`` ``email``; subject and body in the notes)."""
    notes = "\n\n".join(part for part in (parsed["subject"], parsed["body"]) if part)[:NOTES_MAX]
    data: dict[str, Any] = {"name": parsed["name"][:120], "email": parsed["email"]}
    if source is not None:
        data["source"] = source
    if notes:
        data["notes"] = notes
    if parsed.get("phone"):
        data["phone"] = parsed["phone"]
    if pool_id is not None:
        data["pool_id"] = pool_id
    return data


def capture_mail(site: Site, raw: bytes, *, pool_id: int | None = None) -> dict[str, Any]:
    """Create a lead from a message (one transaction); the record, with the duplicate warning when it looks like others."""
    data = mail_lead(parse_mail(raw), pool_id, EMAIL if _is_source(site, EMAIL) else None)
    return site.records.create(Actor.system(MAIL_CHANNEL), LEAD, data, on_duplicate="warn")
