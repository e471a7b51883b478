"""Outgoing email over SMTP, for any plugin: reminders, notices, digests.

The ``[mail]`` table of ``crm.toml`` names the server (see
:class:`~kernel.settings.MailSettings`); without it mail is off, and
:func:`enabled` says so, so a caller can skip its mail and keep its in-app
notification. :func:`send` opens one connection per call and raises
:class:`MailError` for anything that stops the message: a refused connection,
a failed login, a rejected recipient, an address that is none. Call it outside a
database transaction: SMTP servers can be slow.

Header values come from users (a task's title becomes a subject): line breaks
and other control characters in a subject become spaces, so no text can end a
header and start another (``Bcc:``); an address holding any is refused.

Messages are ``text/plain`` in UTF-8 (plus an optional ``text/html``
alternative); non-ASCII subjects and names are encoded per RFC 2047, so
``任务提醒`` arrives intact.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING

from .errors import CRMError

#: Control characters (CR and LF among them) and the Unicode line and paragraph separators.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

if TYPE_CHECKING:
    from .settings import MailSettings
    from .site import Site


class MailError(CRMError):
    """A message could not be sent (mail is off, or the server refused or could not be reached)."""


def enabled(site: Site) -> bool:
    """Whether this site can send mail (``crm.toml`` has a ``[mail]`` table)."""
    return site.settings.mail is not None


def send(site: Site, to: str | Sequence[str], subject: str, text: str, html: str | None = None) -> None:
    """Send one message to ``to`` (an address or several) from ``[mail] sender``."""
    config = site.settings.mail
    if config is None:
        raise MailError("mail is off: add a [mail] table to crm.toml")
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients or not all(_is_address(r) for r in recipients):
        raise MailError(f"not an email address: {to!r}")
    message = build_message(config, recipients, subject, text, html)
    try:
        with _connect(config) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, config.password or "")
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"sending to {', '.join(recipients)} through {config.host}:{config.port} failed: {exc}") from exc
    if refused:
        raise MailError(f"the server refused {', '.join(sorted(refused))}")


def build_message(config: MailSettings, recipients: list[str], subject: str, text: str, html: str | None = None) -> EmailMessage:
    """The message :func:`send` sends: UTF-8 text, optional HTML alternative, date and message id."""
    message = EmailMessage()
    message["Subject"] = header_text(subject)
    message["From"] = config.sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(config.sender)[1].rpartition("@")[2] or config.host
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def header_text(value: str) -> str:
    """``value`` on one line: each run of line breaks, tabs and other control characters becomes one space."""
    return _BREAKS.sub(" ", value).strip()


def _is_address(value: object) -> bool:
    return isinstance(value, str) and "@" in value and not _BREAKS.search(value)


def _connect(config: MailSettings) -> smtplib.SMTP:
    if config.ssl:
        return smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=ssl.create_default_context())
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)

