"""Public forms: admins build them for any entity; anonymous visitors fill them in at ``/public/forms/SLUG``.

A form (a row of ``kernel_forms``) names an entity, a ``slug``, a title, the fields it asks
for (built-in and custom fields of the entity, each with its label in both languages and a
required flag), optional consent text, a thank-you message or a redirect URL, how many
submissions one IP address may make per hour, and whether it is active.

:func:`submit` is the one path for a submission, from the HTML page and from JSON alike:
required fields and consent are checked, then the record is created through
``site.records.create`` as an external actor who may create that entity and nothing else
(channel ``public`` in the audit), and the consent of the email/phone given is stored
(:mod:`kernel.consents`) in the same transaction. The honeypot (:data:`HONEYPOT`) is the
caller's business: a filled one answers like success and stores nothing.

Definitions are changed through :func:`create`, :func:`update` and :func:`delete` (admins,
audited as entity ``forms``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from . import audit, consents
from .errors import Conflict, NotFound, ValidationError
from .fielddescriptions import FormField, form_fields
from .i18n import pick, plugin_locale_dirs, translations
from .models import PublicForm
from .records import Actor

if TYPE_CHECKING:
    from .site import Site, View

FORMS = PublicForm.__table__
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
#: The hidden field people never see and bots fill in.
HONEYPOT = "hp_website"
#: Widgets a visitor can fill in (a reference picker would need to search records).
PUBLIC_WIDGETS = frozenset({"text", "textarea", "email", "url", "tel", "date", "datetime", "integer", "number", "money",
                            "checkbox", "select", "multiselect", "list"})
KEYS = ("slug", "entity", "title", "fields", "consent", "thank_you", "redirect_url", "per_hour", "active")
DEFAULT_PER_HOUR = 20
LABEL_MAX = 200
TEXT_MAX = 2000
DEFAULT_THANKS = {"en": "Thank you! We have received your details.", "zh_CN": "谢谢！我们已收到您的信息。"}


def describe(row: Any) -> dict[str, Any]:
    return {key: getattr(row, key) for key in ("id", *KEYS, "created_at", "updated_at")}


def list_forms(site: Site) -> list[dict[str, Any]]:
    with site.engine.connect() as conn:
        return [describe(row) for row in conn.execute(sa.select(FORMS).order_by(FORMS.c.slug))]


def get(site: Site, form_id: int) -> dict[str, Any]:
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(FORMS).where(FORMS.c.id == form_id)).first()
    if row is None:
        raise NotFound(f"no form {form_id}", [{"loc": ["path", "id"], "msg": "no such form"}])
    return describe(row)


def active_form(site: Site, slug: str) -> dict[str, Any]:
    """The active form ``slug`` whose entity is enabled, else :class:`NotFound`."""
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(FORMS).where(FORMS.c.slug == slug, FORMS.c.active.is_(True))).first()
    if row is None or site.view.entity(row.entity) is None:
        raise NotFound("no such form, or it is not active", [{"loc": ["path", "slug"], "msg": "no active form"}])
    return describe(row)


# -- which fields a form may ask for ------------------------------------------------------------


def pickable(view: View, entity_name: str) -> list[FormField]:
    """The fields of ``entity_name`` a public form may show: built-in and custom, no owner, no reference,
    nothing read-only (:mod:`kernel.formlayout`)."""
    entity = view.entity(entity_name)
    if entity is None:
        return []
    return [f for f in form_fields(view, entity)
            if f.widget in PUBLIC_WIDGETS and f.name != entity.owner_field and f.name not in entity.hidden and f.reference is None
            and not f.read_only
            and "choices_from" not in f.extra]


def shown_fields(view: View, form: dict[str, Any]) -> list[FormField]:
    """The form's fields as inputs: each with the form's labels and required flag, in the form's order.
    A field removed from the entity since is left out."""
    known = {(f.name, f.custom): f for f in pickable(view, form["entity"])}
    shown = []
    for item in form["fields"]:
        found = known.get((item["name"], bool(item.get("custom"))))
        if found is not None:
            shown.append(dataclasses.replace(found, label=item.get("label") or found.label, required=bool(item.get("required"))))
    return shown


def default_labels(view: View, found: FormField) -> dict[str, str]:
    """A field's own label in both languages (a built-in field's through the catalogs)."""
    if isinstance(found.label, dict):
        return {"en": pick(found.label, "en", found.name), "zh_CN": pick(found.label, "zh_CN", found.name)}
    chinese = translations("zh_CN", plugin_locale_dirs(view)).gettext(str(found.label))
    return {"en": str(found.label), "zh_CN": chinese}


def contact_kinds(fields: list[FormField]) -> dict[str, FormField]:
    """Which field gives the contact's email and which the phone (the first of each)."""
    found: dict[str, FormField] = {}
    for f in fields:
        kind = "email" if f.widget == "email" or "email" in f.name else "phone" if f.widget == "tel" or re.search(r"phone|mobile", f.name) else None
        if kind is not None and kind not in found:
            found[kind] = f
    return found


# -- definitions --------------------------------------------------------------------------------


def _labels(value: Any, loc: str, *, required: bool = True, limit: int = LABEL_MAX) -> dict[str, str] | None:
    if value is None and not required:
        return None
    if isinstance(value, str):
        value = {"en": value, "zh_CN": value}
    if not isinstance(value, dict) or set(value) - {"en", "zh_CN"}:
        raise ValidationError.at(["body", loc], 'must be {"en": "...", "zh_CN": "..."}')
    texts = {k: v.strip() for k, v in value.items() if isinstance(v, str) and v.strip()}
    if len(texts) != len(value) or (required and not texts):
        raise ValidationError.at(["body", loc], "needs text in English or Chinese")
    if any(len(v) > limit for v in texts.values()):
        raise ValidationError.at(["body", loc], f"must be at most {limit} characters")
    if not texts:
        return None
    return {"en": texts.get("en") or texts["zh_CN"], "zh_CN": texts.get("zh_CN") or texts["en"]}


def _fields(view: View, entity: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ValidationError.at(["body", "fields"], "must list at least one field")
    known = {f.name: f for f in pickable(view, entity)}
    cleaned, seen = [], set()
    for index, item in enumerate(value):
        item = {"name": item} if isinstance(item, str) else item
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or set(item) - {"name", "label", "required", "custom"}:
            raise ValidationError.at(["body", "fields", index], 'must be {"name": ..., "label": {...}, "required": true|false}')
        found = known.get(item["name"])
        if found is None:
            raise ValidationError.at(["body", "fields", index, "name"], f"{entity} has no field {item['name']!r} a visitor can fill in")
        if found.name in seen:
            raise ValidationError.at(["body", "fields", index, "name"], "is listed twice")
        seen.add(found.name)
        required = item.get("required", found.required)
        if not isinstance(required, bool):
            raise ValidationError.at(["body", "fields", index, "required"], "must be true or false")
        label = _labels(item.get("label"), f"fields.{index}.label", required=False) or default_labels(view, found)
        cleaned.append({"name": found.name, "custom": found.custom, "label": label, "required": required or found.required})
    missing = [f.name for f in known.values() if f.required and f.name not in seen]
    if missing:
        raise ValidationError.at(["body", "fields"], f"must include the required field {missing[0]!r} of {entity}")
    return cleaned


def _clean(site: Site, body: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    unknown = [k for k in body if k not in KEYS]
    if unknown:
        raise ValidationError.at(["body", unknown[0]], f"unknown field (allowed: {', '.join(KEYS)})")
    merged = {**(current or {}), **body}
    for key in ("slug", "entity", "title", "fields"):
        if merged.get(key) is None:
            raise ValidationError.at(["body", key], "is required")
    slug, entity = merged["slug"], merged["entity"]
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise ValidationError.at(["body", "slug"], "must be 1-60 lower-case letters, digits and dashes")
    if not isinstance(entity, str) or site.view.entity(entity) is None:
        raise ValidationError.at(["body", "entity"], "must be an enabled entity")
    redirect = merged.get("redirect_url") or None
    if redirect is not None:
        parts = urlsplit(redirect) if isinstance(redirect, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(redirect) > 500:
            raise ValidationError.at(["body", "redirect_url"], "must be an http(s) URL of at most 500 characters")
    per_hour = merged.get("per_hour", DEFAULT_PER_HOUR)
    if not isinstance(per_hour, int) or isinstance(per_hour, bool) or not 1 <= per_hour <= 10_000:
        raise ValidationError.at(["body", "per_hour"], "must be a whole number from 1 to 10000")
    active = merged.get("active", True)
    if not isinstance(active, bool):
        raise ValidationError.at(["body", "active"], "must be true or false")
    return {
        "slug": slug,
        "entity": entity,
        "title": _labels(merged["title"], "title"),
        "fields": _fields(site.view, entity, merged["fields"]),
        "consent": _labels(merged.get("consent"), "consent", required=False, limit=TEXT_MAX),
        "thank_you": _labels(merged.get("thank_you") or DEFAULT_THANKS, "thank_you", limit=TEXT_MAX),
        "redirect_url": redirect,
        "per_hour": per_hour,
        "active": active,
    }


def _taken(conn: sa.Connection, slug: str, form_id: int | None) -> None:
    query = sa.select(FORMS.c.id).where(FORMS.c.slug == slug)
    if form_id is not None:
        query = query.where(FORMS.c.id != form_id)
    if conn.scalar(query) is not None:
        raise Conflict(f"a form named {slug!r} exists", [{"loc": ["body", "slug"], "msg": "already taken"}])


def create(site: Site, actor: Actor, body: Any) -> dict[str, Any]:
    """Store a new form definition (audited); the caller has checked that ``actor`` is an admin."""
    values = _clean(site, body, None)
    now = site.clock.now()
    with site.write() as conn:
        _taken(conn, values["slug"], None)
        form_id = conn.execute(sa.insert(FORMS).values(**values, created_at=now, updated_at=now).returning(FORMS.c.id)).scalar_one()
        audit.write(conn, [audit.entry(actor, now, "forms", form_id, "create", audit.jsonable(values))])
    return get(site, form_id)


def update(site: Site, actor: Actor, form_id: int, body: Any) -> dict[str, Any]:
    """Change a form definition: any of its keys (audited)."""
    current = get(site, form_id)
    values = _clean(site, body, {k: current[k] for k in KEYS})
    changed = {k: v for k, v in values.items() if v != current[k]}
    if not changed:
        return current
    now = site.clock.now()
    with site.write() as conn:
        _taken(conn, values["slug"], form_id)
        conn.execute(sa.update(FORMS).where(FORMS.c.id == form_id).values(**changed, updated_at=now))
        audit.write(conn, [audit.entry(actor, now, "forms", form_id, "update", audit.jsonable(changed))])
    return get(site, form_id)


def delete(site: Site, actor: Actor, form_id: int) -> None:
    current = get(site, form_id)
    now = site.clock.now()
    with site.write() as conn:
        conn.execute(sa.delete(FORMS).where(FORMS.c.id == form_id))
        audit.write(conn, [audit.entry(actor, now, "forms", form_id, "delete", {"slug": current["slug"]})])


# -- submissions --------------------------------------------------------------------------------


def submitter(form: dict[str, Any], ip: str | None) -> Actor:
    """The external actor a submission writes as: it may create the form's entity, nothing else."""
    return Actor.external(route=f"/public/forms/{form['slug']}", ip=ip, grants=[f"{form['entity']}.create"])


def submit(
    site: Site, form: dict[str, Any], data: dict[str, Any], *, consent: bool, ip: str | None, locale: str
) -> dict[str, Any]:
    """Check ``data`` (record data as ``site.records.create`` takes it, ``custom`` inside) against the form,
    create the record and store consent, in one transaction. Returns the record.

    A refusal is a :class:`ValidationError` naming every missing required field (``loc``
    ``["body", NAME]``) and an unticked consent (``["body", "consent"]``); the write path's
    own refusals name their field too. Nothing is stored unless everything passes.
    """
    fields = shown_fields(site.view, form)
    details = []
    for f in fields:
        value = (data.get("custom") or {}).get(f.name) if f.custom else data.get(f.name)
        if f.required and (value is None or value == "" or value == [] or (f.widget == "checkbox" and value is False)):
            details.append({"loc": ["body", f.name], "msg": "is required"})
    if form["consent"] and not consent:
        details.append({"loc": ["body", "consent"], "msg": "must be accepted"})
    if details:
        raise ValidationError(f"{details[0]['loc'][-1]}: {details[0]['msg']}", details)
    contacts = {}
    for kind, f in contact_kinds(fields).items():
        value = (data.get("custom") or {}).get(f.name) if f.custom else data.get(f.name)
        if value:
            contacts[kind] = value
    with site.write() as conn:
        record = site.records.create(submitter(form, ip), form["entity"], data, conn=conn)
        if form["consent"] and contacts:
            consents.give(conn, contacts, purpose=f"form:{form['slug']}", text=pick(form["consent"], locale), locale=locale,
                          at=site.clock.now(), ip=ip, entity=form["entity"], record_id=record["id"])
    return record
