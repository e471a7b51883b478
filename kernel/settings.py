"""Deployment settings: ``crm.toml`` plus environment overrides.

The file is optional; without it the defaults are a SQLite file ``./crm.db`` and
every installed plugin. Anything wrong in it stops start-up with a
:class:`~kernel.errors.ConfigError` that names the file, the key and the reason.
Each ``[plugins.NAME]`` table is checked later, against that plugin's own JSON
Schema, once the plugins are known (see :mod:`kernel.plugins`).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .money import MINOR_UNITS
from .timezones import DEFAULT_ZONE, ZONE_HINT, is_zone

DEFAULT_CONFIG = "crm.toml"
DEFAULT_DATABASE_URL = "sqlite:///crm.db"
LOCALES = ("zh_CN", "en")

# key -> (python type, description) for the [crm] table
_CRM_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "database_url": (str, "a SQLAlchemy URL"),
    "plugins": (list, "a list of plugin names"),
    "secret_key": (str, "a string"),
    "default_locale": (str, "one of " + ", ".join(LOCALES)),
    "default_currency": (str, "an ISO 4217 code such as CNY"),
    "refresh_seconds": ((int, float), "a number of seconds"),
    "jobs_interval_seconds": ((int, float), "a number of seconds"),
    "tasks_interval_seconds": ((int, float), "a positive number of seconds"),
    "task_retention_days": (int, "a whole number of days, at least 1"),
    "allow_registration": (bool, "true or false"),
    "org_name": (str, "a string"),
    "trusted_proxies": (list, 'a list of proxy addresses or networks, e.g. ["10.0.0.1", "10.0.0.0/8"]'),
    "public_origins": (list, 'a list of origins, e.g. ["https://www.example.com"]'),
    "import_max_rows": (int, "a positive number of rows"),
    "import_max_bytes": (int, "a positive number of bytes"),
    "file_max_bytes": (int, "a positive number of bytes"),
    "count_cap": (int, "a whole number of at least 1"),
    "trash_days": (int, "a whole number of days, at least 1"),
    "time_zone": (str, ZONE_HINT),
    "phone_region": (str, "a two-letter region code such as CN (where phone numbers without +country code are from)"),
}
ORG_NAME_MAX = 120


# key -> (python type, description) for the [mail] table (see kernel.mail)
_MAIL_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "host": (str, "a host name"),
    "port": (int, "a port number"),
    "username": (str, "a string"),
    "password": (str, "a string"),
    "sender": (str, "an email address, optionally with a name: 'PlugCRM <crm@example.com>'"),
    "starttls": (bool, "true or false"),
    "ssl": (bool, "true or false"),
    "timeout": ((int, float), "a number of seconds"),
}


@dataclass(frozen=True)
class MailSettings:
    """The ``[mail]`` table: the SMTP server :mod:`kernel.mail` sends through."""

    host: str
    sender: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class Settings:
    """Everything a site needs to start. Build it with :func:`load_settings`."""

    database_url: str = DEFAULT_DATABASE_URL
    plugins: tuple[str, ...] | None = None  # None: every installed plugin
    secret_key: str | None = None
    default_locale: str = "zh_CN"
    default_currency: str = "CNY"  # the currency of a money field that does not name one (kernel.money)
    refresh_seconds: float = 2.0  # how stale a process's view of plugins/fields may get
    jobs_interval_seconds: float = 30.0  # how often serve/worker look for due jobs
    tasks_interval_seconds: float = 2.0  # how often serve/worker look for queued background tasks (kernel.tasks)
    task_retention_days: int = 7  # finished background tasks (results, errors) are kept this long
    allow_registration: bool = False  # POST /api/v1/auth/register; new users wait for an admin
    org_name: str = ""  # shown in the UI's top bar and title
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For/-Proto are believed (kernel.web.proxies)
    public_origins: tuple[str, ...] = ()  # other sites whose pages may post to /public/ and embed its forms (kernel.web.public)
    import_max_rows: int = 5_000_000  # rows one file uploaded to the import page may hold (a worker streams it: kernel.importtasks)
    import_max_bytes: int = 512 * 2**20  # size of one file uploaded to the import page (kept in the database a megabyte at a time)
    file_max_bytes: int = 10 * 2**20  # size of one file attached to a record (kernel.files)
    count_cap: int = 10_000  # lists count their total exactly up to this many records
    trash_days: int = 30  # deleted records stay restorable this long, then a job purges them (kernel.trash)
    time_zone: str = DEFAULT_ZONE  # where local dates, "today" and date buckets are computed (kernel.timezones)
    phone_region: str = "CN"  # numbers typed without +country code are read in this region (kernel.phones)
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_file: str | None = None
    mail: MailSettings | None = None  # None: no [mail] table, mail is off
    crm_keys: frozenset[str] = frozenset()  # the [crm] keys the file set

    def replace(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read ``crm.toml`` (``path``, else ``$CRM_CONFIG``, else ``./crm.toml``) and apply env overrides."""
    env = os.environ if env is None else env
    explicit = path is not None or "CRM_CONFIG" in env
    config_path = Path(path if path is not None else env.get("CRM_CONFIG", DEFAULT_CONFIG))
    data: dict[str, Any] = {}
    if config_path.exists():
        data = _read_toml(config_path)
    elif explicit:
        raise ConfigError("file not found", file=str(config_path))
    settings = parse_settings(data, file=str(config_path) if config_path.exists() else None)
    if env.get("CRM_DATABASE_URL"):
        settings = settings.replace(database_url=env["CRM_DATABASE_URL"])
    if env.get("CRM_SECRET_KEY"):
        settings = settings.replace(secret_key=env["CRM_SECRET_KEY"])
    if env.get("CRM_MAIL_PASSWORD") and settings.mail is not None:
        settings = settings.replace(mail=replace(settings.mail, password=env["CRM_MAIL_PASSWORD"]))
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror})", file=str(path)) from None


def parse_settings(data: dict[str, Any], *, file: str | None = None) -> Settings:
    """Check the shape of an already-parsed config mapping and build :class:`Settings`."""
    unknown = sorted(set(data) - {"crm", "mail", "plugins"})
    if unknown:
        raise ConfigError("unknown table; expected [crm], [mail] and [plugins.NAME]", file=file, key=unknown[0])
    crm = data.get("crm", {})
    if not isinstance(crm, dict):
        raise ConfigError("must be a table", file=file, key="crm")
    values: dict[str, Any] = {}
    for key, value in crm.items():
        if key not in _CRM_KEYS:
            raise ConfigError(f"unknown key; known keys are {', '.join(_CRM_KEYS)}", file=file, key=f"crm.{key}")
        expected, description = _CRM_KEYS[key]
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise ConfigError(f"must be {description}", file=file, key=f"crm.{key}")
        values[key] = value
    if "plugins" in values:
        names = values["plugins"]
        if not all(isinstance(name, str) and name for name in names):
            raise ConfigError("must be a list of plugin names", file=file, key="crm.plugins")
        values["plugins"] = tuple(dict.fromkeys(names))
    if values.get("default_locale", "zh_CN") not in LOCALES:
        raise ConfigError(f"must be one of {', '.join(LOCALES)}", file=file, key="crm.default_locale")
    if values.get("default_currency", "CNY") not in MINOR_UNITS:
        raise ConfigError(f"must be one of {', '.join(sorted(MINOR_UNITS))}", file=file, key="crm.default_currency")
    if not is_zone(values.get("time_zone", DEFAULT_ZONE)):
        raise ConfigError(f"must be {ZONE_HINT}", file=file, key="crm.time_zone")
    if "phone_region" in values:
        from .phones import REGIONS  # phonenumbers is loaded only when the setting is given

        if values["phone_region"] not in REGIONS:
            raise ConfigError(f"must be {_CRM_KEYS['phone_region'][1]}", file=file, key="crm.phone_region")
    if "trusted_proxies" in values:
        values["trusted_proxies"] = _proxies(values["trusted_proxies"], file)
    if "public_origins" in values:
        values["public_origins"] = _origins(values["public_origins"], file)
    if len(values.get("org_name", "")) > ORG_NAME_MAX:
        raise ConfigError(f"must be at most {ORG_NAME_MAX} characters", file=file, key="crm.org_name")
    for key in ("import_max_rows", "import_max_bytes", "file_max_bytes"):
        if values.get(key, 1) <= 0:
            raise ConfigError(f"must be {_CRM_KEYS[key][1]}", file=file, key=f"crm.{key}")
    for key in ("tasks_interval_seconds", "task_retention_days"):
        if values.get(key, 1) <= 0:
            raise ConfigError(f"must be {_CRM_KEYS[key][1]}", file=file, key=f"crm.{key}")
    if values.get("count_cap", 1) < 1:
        raise ConfigError("must be a whole number of at least 1", file=file, key="crm.count_cap")
    if not 1 <= values.get("trash_days", 30) <= 36500:
        raise ConfigError("must be a whole number of days from 1 to 36500", file=file, key="crm.trash_days")
    plugin_tables = data.get("plugins", {})
    if not isinstance(plugin_tables, dict) or not all(isinstance(v, dict) for v in plugin_tables.values()):
        raise ConfigError("each [plugins.NAME] must be a table", file=file, key="plugins")
    mail = _parse_mail(data["mail"], file) if "mail" in data else None
    return Settings(**values, plugin_settings=dict(plugin_tables), config_file=file, mail=mail, crm_keys=frozenset(values))


def _proxies(entries: list[Any], file: str | None) -> tuple[str, ...]:
    checked = []
    for entry in entries:
        try:
            checked.append(str(ipaddress.ip_network(entry.strip() if isinstance(entry, str) else "?", strict=False)))
        except ValueError:
            raise ConfigError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.1 or 10.0.0.0/8)", file=file, key="crm.trusted_proxies") from None
    return tuple(checked)


def _origins(entries: list[Any], file: str | None) -> tuple[str, ...]:
    checked = []
    for entry in entries:
        parts = urlsplit(entry.strip()) if isinstance(entry, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise ConfigError(f"{entry!r} is not an origin (scheme and host, e.g. https://www.example.com)", file=file, key="crm.public_origins")
        checked.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(checked)


def _parse_mail(table: Any, file: str | None) -> MailSettings:
    if not isinstance(table, dict):
        raise ConfigError("must be a table", file=file, key="mail")
    for key, value in table.items():
        if key not in _MAIL_KEYS:
            raise ConfigError(f"unknown key; known keys are {', '.join(_MAIL_KEYS)}", file=file, key=f"mail.{key}")
        expected, description = _MAIL_KEYS[key]
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise ConfigError(f"must be {description}", file=file, key=f"mail.{key}")
    for key in ("host", "sender"):
        if not str(table.get(key, "")).strip():
            raise ConfigError("required when [mail] is present", file=file, key=f"mail.{key}")
    if not 0 < table.get("port", 25) < 65536:
        raise ConfigError("must be a port number between 1 and 65535", file=file, key="mail.port")
    if table.get("timeout", 10) <= 0:
        raise ConfigError("must be a positive number of seconds", file=file, key="mail.timeout")
    if table.get("ssl") and table.get("starttls"):
        raise ConfigError("choose ssl (implicit TLS, port 465) or starttls (port 587), not both", file=file, key="mail.ssl")
    if "password" in table and "username" not in table:
        raise ConfigError("a password needs a username", file=file, key="mail.password")
    return MailSettings(**table)
