"""``crm plugin new NAME``: the skeleton of a third-party plugin, ready to install and test.

The skeleton is a pip-installable project registered through the ``crm.plugins`` entry point::

    NAME/
      pyproject.toml                  entry point crm.plugins: NAME = "NAME.plugin"; pytest settings
      README.md
      NAME/__init__.py                the plugin's public API (``__all__``) for plugins that require it
      NAME/plugin.py                  NAME, REQUIRES, one entity and its hooks
      NAME/migrations/versions/…      the Alembic branch "NAME" creating the entity's table
      NAME/locale/{en,zh_CN}/LC_MESSAGES/messages.po
      NAME/tests/                     tests built on kernel.testing (they pass on the first run)

Everything it writes follows the rules ``crm plugin check`` enforces (:mod:`kernel.plugincheck`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from .errors import CRMError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED = {"core", "kernel", "plugins", "tests", "test", "crm"}


@dataclass(frozen=True)
class Skeleton:
    """The names one skeleton is written with."""

    name: str  # the plugin, its package and its entry point: "contracts"
    entity: str  # the entity, plural snake_case: "contracts"
    label: str  # singular English label: "Contract"
    label_zh: str  # singular Chinese label: "合同"
    revision: str  # the first migration's revision id

    @property
    def table(self) -> str:
        return f"{self.name}_{self.entity}"

    @property
    def model(self) -> str:
        return "".join(part.title() for part in self.entity.rstrip("s").split("_")) or "Record"

    def substitutions(self) -> dict[str, str]:
        return {
            "name": self.name,
            "entity": self.entity,
            "table": self.table,
            "model": self.model,
            "label": self.label,
            "label_plural": self.label if self.label.endswith("s") else self.label + "s",
            "label_zh": self.label_zh,
            "revision": self.revision,
            "project": self.name.replace("_", "-"),
        }


def skeleton_for(name: str, *, entity: str | None = None, label: str | None = None, label_zh: str | None = None) -> Skeleton:
    """Check ``name`` (and ``entity``) and fill in the defaults: entity ``NAME`` plural, labels from it."""
    if not NAME_PATTERN.match(name) or name in RESERVED:
        raise CRMError(f"plugin name {name!r}: use 2–40 lowercase letters, digits and underscores, starting with a letter (not {', '.join(sorted(RESERVED))})")
    entity = entity or (name if name.endswith("s") else name + "s")
    if not NAME_PATTERN.match(entity):
        raise CRMError(f"entity name {entity!r}: use plural snake_case, e.g. {name}s")
    singular = entity[:-1] if entity.endswith("s") else entity
    label = label or singular.replace("_", " ").capitalize()
    return Skeleton(name, entity, label, label_zh or label, uuid.uuid4().hex[:12])


def write_skeleton(skeleton: Skeleton, directory: Path) -> list[Path]:
    """Write the project into ``directory`` (created; it must be empty or missing); return the files written."""
    if directory.exists() and any(directory.iterdir()):
        raise CRMError(f"{directory}: the folder exists and is not empty")
    values = skeleton.substitutions()
    written = []
    for relative, text in FILES.items():
        path = directory / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
        written.append(path)
    return written


PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "crm-$project"
version = "0.1.0"
description = "$label_plural for PlugCRM"
requires-python = ">=3.11"
dependencies = ["plugcrm"]

# the kernel finds the plugin here: the entry point's name is the plugin's NAME
[project.entry-points."crm.plugins"]
$name = "$name.plugin"

[tool.setuptools.packages.find]
include = ["$name*"]

[tool.setuptools.package-data]
"*" = ["*.po", "*.html", "*.json", "*.css", "*.js"]

[tool.pytest.ini_options]
testpaths = ["$name/tests"]
addopts = "-q -p no:cacheprovider"
'''

README = '''\
# $label_plural for PlugCRM

A PlugCRM plugin written from `crm plugin new $name`.

```
pip install -e .                 # registers the plugin through the crm.plugins entry point
crm plugins enable $name         # or add "$name" to plugins in crm.toml
pytest                           # its tests, on SQLite (CRM_TEST_DATABASE_URL for PostgreSQL)
crm plugin check .               # the public-API import rule and the hook signatures
```

The entity `$entity` gets the generic pages and the REST API: `GET/POST /api/v1/$entity`.
'''

INIT = '''\
"""$label_plural: a PlugCRM plugin. Names in ``__all__`` are this plugin's public API, the only
ones a plugin that lists "$name" in its REQUIRES may import."""

__all__: list[str] = []
'''

PLUGIN = '''\
"""The $name plugin: NAME, REQUIRES and the hooks that give the kernel its entity and migrations."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Base, Entity, RecordMixin, hookimpl

NAME = "$name"
LABEL = {"en": "$label_plural", "zh_CN": "$label_zh"}
DESCRIPTION = {"en": "$label_plural, with an owner and notes.", "zh_CN": "$label_zh：负责人与备注。"}
REQUIRES: tuple[str, ...] = ()


class $model(RecordMixin, Base):
    __tablename__ = "$table"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    notes: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)


class ${model}Fields(BaseModel):
    """The built-in fields a create or update may send (custom fields travel in ``custom``)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    notes: str = ""
    owner_id: int | None = None


@hookimpl
def register_entities() -> list[Entity]:
    return [
        Entity(
            name="$entity",
            label={"en": "$label", "zh_CN": "$label_zh"},
            label_plural={"en": "$label_plural", "zh_CN": "$label_zh"},
            model=$model,
            fields=${model}Fields,
            searchable=("title", "notes"),
            owner_field="owner_id",
            title_field="title",
        )
    ]


@hookimpl
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")
'''

MIGRATION = '''\
"""$table table

Revision ID: $revision
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kernel

revision = "$revision"
down_revision = None
branch_labels = ("$name",)
depends_on = "core"


def upgrade() -> None:
    op.create_table(
        "$table",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", kernel.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kernel.UTCDateTime(timezone=True), nullable=False),
        sa.Column("custom", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_$table")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_${table}_owner_id"), "$table", ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_${table}_owner_id"), table_name="$table")
    op.drop_table("$table")
'''

PO_HEADER = '''\
# The $name plugin's catalog: its field labels (the kernel reads a field's label as its name, capitalized).
msgid ""
msgstr ""
"Language: $language\\n"
"Plural-Forms: nplurals=$plurals\\n"
"Content-Type: text/plain; charset=utf-8\\n"
'''

PO_ZH = Template(PO_HEADER).safe_substitute(language="zh_CN", plurals="1; plural=0;") + '''
msgid "Title"
msgstr "标题"

msgid "Notes"
msgstr "备注"

msgid "Owner"
msgstr "负责人"
'''

PO_EN = Template(PO_HEADER).safe_substitute(language="en", plurals="2; plural=(n != 1);") + '''
msgid "Title"
msgstr "Title"

msgid "Notes"
msgstr "Notes"

msgid "Owner"
msgstr "Owner"
'''

CONFTEST = '''\
"""Fixtures: the kernel's (a fresh database per test, a frozen clock) and a site with this plugin."""

from __future__ import annotations

import pytest

from kernel import Actor, Site
from kernel.testing import clock, database_url, make_site  # noqa: F401 - fixtures

from $name import plugin


@pytest.fixture
def site(make_site) -> Site:  # noqa: F811
    return make_site(plugin)


@pytest.fixture
def admin(site: Site) -> Actor:
    user = site.records.create(Actor.system("cli"), "users", {"email": "admin@example.com", "name": "Admin", "role": "admin"})
    return Actor(user_id=user["id"], label=user["email"], role="admin", channel="api")
'''

TEST = '''\
"""The plugin loads, its migration matches its model, its records go through the API, and it speaks 简体中文."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel import Base, site_translations
from kernel.testing import api_clients, registered_permissions


def test_the_plugin_loads_with_its_entity(site):
    assert "$name" in site.view.enabled
    assert "$entity" in site.view.entities
    assert "$entity.create" in registered_permissions(site)


def test_the_migration_matches_the_model(site):
    def ours(obj, name, type_, reflected, compare_to):
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return table == "$table"

    with site.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours, "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_a_record_through_the_api(site, admin):
    client = api_clients(site)(admin)  # the API in process, with the admin's bearer token
    created = client.post("/api/v1/$entity", json={"title": "First"})
    assert created.status_code == 201, created.text
    listed = client.get("/api/v1/$entity").json()
    assert [item["title"] for item in listed["items"]] == ["First"]
    refused = client.post("/api/v1/$entity", json={"title": ""})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["loc"][-1] == "title"


def test_labels_in_simplified_chinese(site):
    assert site_translations(site, "zh_CN").gettext("Notes") == "备注"
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "$name/__init__.py": INIT,
    "$name/plugin.py": PLUGIN,
    "$name/migrations/versions/${revision}_${table}.py": MIGRATION,
    "$name/locale/zh_CN/LC_MESSAGES/messages.po": PO_ZH,
    "$name/locale/en/LC_MESSAGES/messages.po": PO_EN,
    "$name/tests/__init__.py": "",
    "$name/tests/conftest.py": CONFTEST,
    "$name/tests/test_plugin.py": TEST,
}
