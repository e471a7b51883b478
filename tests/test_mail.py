"""kernel.mail: the [mail] table of crm.toml and sending through SMTP (aiosmtpd stands in for the server)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest

from kernel import ConfigError, Settings, load_settings, mail
from kernel.settings import MailSettings


class Inbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox.received
    controller.stop()


class FakeSite:
    def __init__(self, mail_settings):
        self.settings = Settings(mail=mail_settings)


def test_mail_table_is_read_with_defaults_and_env_password(tmp_path):
    path = tmp_path / "crm.toml"
    path.write_text('[mail]\nhost = "smtp.example.com"\nsender = "CRM <crm@example.com>"\nusername = "crm"\nstarttls = true\n', encoding="utf-8")
    settings = load_settings(path, env={"CRM_MAIL_PASSWORD": "from-env"})
    assert settings.mail == MailSettings(host="smtp.example.com", sender="CRM <crm@example.com>", username="crm", password="from-env", starttls=True)
    assert settings.mail.port == 25 and settings.mail.timeout == 10
    assert load_settings(tmp_path / "crm.toml", env={}).mail.password is None
    (tmp_path / "other.toml").write_text("[crm]\n", encoding="utf-8")
    assert load_settings(tmp_path / "other.toml", env={"CRM_MAIL_PASSWORD": "x"}).mail is None


@pytest.mark.parametrize(
    ("table", "key", "reason"),
    [
        ('host = "h"\nsender = "a@b.c"\nprot = 25', "mail.prot", "unknown key"),
        ('host = "h"\nsender = "a@b.c"\nport = "25"', "mail.port", "must be a port number"),
        ('host = "h"\nsender = "a@b.c"\nport = 70000', "mail.port", "between 1 and 65535"),
        ('sender = "a@b.c"', "mail.host", "required when [mail] is present"),
        ('host = "h"', "mail.sender", "required when [mail] is present"),
        ('host = "h"\nsender = "a@b.c"\nssl = true\nstarttls = true', "mail.ssl", "not both"),
        ('host = "h"\nsender = "a@b.c"\nstarttls = "yes"', "mail.starttls", "must be true or false"),
        ('host = "h"\nsender = "a@b.c"\ntimeout = 0', "mail.timeout", "positive"),
        ('host = "h"\nsender = "a@b.c"\npassword = "p"', "mail.password", "needs a username"),
    ],
)
def test_a_bad_mail_table_names_file_key_and_reason_in_one_line(tmp_path, table, key, reason):
    path = tmp_path / "crm.toml"
    path.write_text(f"[mail]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: ") and reason in message and "\n" not in message


def test_send_delivers_utf8_text_and_html(smtp):
    port, received = smtp
    site = FakeSite(MailSettings(host="127.0.0.1", port=port, sender="PlugCRM 提醒 <crm@example.com>"))
    assert mail.enabled(site)
    mail.send(site, ["li@example.com", "wang@example.com"], "任务提醒：拜访客户", "明天 10:00 拜访\n", html="<p>明天 <b>10:00</b> 拜访</p>")
    [(to, message)] = received
    assert to == ["li@example.com", "wang@example.com"]
    assert message["Subject"] == "任务提醒：拜访客户" and message["From"].addresses[0].display_name == "PlugCRM 提醒"
    assert message.get_body(("plain",)).get_content().rstrip() == "明天 10:00 拜访"
    assert "<b>10:00</b>" in message.get_body(("html",)).get_content()
    assert message["Message-ID"].endswith("@example.com>") and message["Date"]


def test_send_refuses_when_mail_is_off_or_the_server_is_unreachable():
    off = FakeSite(None)
    assert not mail.enabled(off)
    with pytest.raises(mail.MailError, match=r"mail is off: add a \[mail\] table"):
        mail.send(off, "a@example.com", "s", "t")
    down = FakeSite(MailSettings(host="127.0.0.1", port=free_port(), sender="crm@example.com", timeout=2))
    with pytest.raises(mail.MailError, match="sending to a@example.com through 127.0.0.1"):
        mail.send(down, "a@example.com", "s", "t")
    with pytest.raises(mail.MailError, match="not an email address"):
        mail.send(down, "nobody", "s", "t")


def test_line_breaks_in_a_subject_cannot_add_headers(smtp):
    port, received = smtp
    site = FakeSite(MailSettings(host="127.0.0.1", port=port, sender="crm@example.com"))
    mail.send(site, "li@example.com", "Call back\r\nBcc: evil@example.com\n\u2028X-Spam: 1\x00", "body\n")
    [(to, message)] = received
    assert to == ["li@example.com"]
    assert message["Subject"] == "Call back Bcc: evil@example.com X-Spam: 1"
    assert message["Bcc"] is None and message["X-Spam"] is None


@pytest.mark.parametrize("address", ["li@example.com\r\nBcc: evil@example.com", "li@example.com\n", "\x00@example.com"])
def test_an_address_holding_line_breaks_is_refused(smtp, address):
    port, received = smtp
    site = FakeSite(MailSettings(host="127.0.0.1", port=port, sender="crm@example.com"))
    with pytest.raises(mail.MailError, match="not an email address"):
        mail.send(site, address, "s", "t")
    assert received == []
