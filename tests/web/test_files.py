"""Files attached to records (kernel.files) over the API: sniffed types, caps, rights, history, backup."""

from __future__ import annotations

import gc
import json
import warnings
import zipfile

import pytest

from kernel import Actor
from kernel.backup import write_backup
from kernel.testing import plugin_module
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web import extras
from tests.web.conftest import http_client, make_user

pytestmark = pytest.mark.anyio
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00" + b"\x00" * 200
refusing = plugin_module("refusing", scan_file=lambda filename, data: "EICAR test signature" if b"EICAR" in data else None)


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, extras, refusing, file_max_bytes=4096, default_locale="en")


def upload(client, note_id, name, data, content_type="application/octet-stream"):
    return client.post(f"/api/v1/notes/{note_id}/files", files={"file": (name, data, content_type)})


async def new_note(client, title="contract"):
    return (await client.post("/api/v1/notes", json={"title": title})).json()


async def test_a_file_is_stored_listed_and_downloaded_as_the_type_its_bytes_say(client):
    note = await new_note(client)
    stored = await upload(client, note["id"], "合同 2026.pdf", PDF, "image/png")  # the browser's claim is ignored
    assert stored.status_code == 201
    info = stored.json()
    assert (info["filename"], info["content_type"], info["size"]) == ("合同 2026.pdf", "application/pdf", len(PDF))
    listed = (await client.get(f"/api/v1/notes/{note['id']}/files")).json()["items"]
    assert [f["id"] for f in listed] == [info["id"]] and "data" not in listed[0]
    got = await client.get(info["url"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;") and "UTF-8''%E5%90%88" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff" and "sandbox" in got.headers["content-security-policy"]
    history = (await client.get(f"/api/v1/notes/{note['id']}/history")).json()["items"]
    assert history[0]["action"] == "file_added" and history[0]["changes"]["file"][1]["filename"] == "合同 2026.pdf"


async def test_an_uploaded_files_temporary_copy_is_closed_when_the_answer_is_sent(client):
    note = await new_note(client)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        assert (await upload(client, note["id"], "big.pdf", PDF + b"%" * 3000)).status_code == 201
        assert (await upload(client, note["id"], "tool.exe", EXE)).status_code == 422  # refused: closed all the same
        gc.collect()
    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []


async def test_images_show_inline_and_a_page_named_like_an_image_is_still_a_download(client):
    note = await new_note(client)
    png = (await upload(client, note["id"], "card.png", PNG)).json()
    assert (await client.get(png["url"])).headers["content-disposition"].startswith("inline;")
    page = (await upload(client, note["id"], "photo.png", b"<html><script>alert(1)</script></html>")).json()
    assert page["content_type"] != "image/png"
    answer = await client.get(page["url"])
    assert answer.headers["content-disposition"].startswith("attachment;") and "sandbox" in answer.headers["content-security-policy"]


@pytest.mark.parametrize("name, data, message", [
    ("setup.pdf", EXE, "programs cannot be attached"),
    ("empty.txt", b"", "is empty"),
    ("big.txt", b"x" * 5000, "files may have at most 4,096"),
    ("eicar.txt", b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR", "refused by the file scan: EICAR test signature"),
])
async def test_refused_files_name_the_reason_and_store_nothing(client, name, data, message):
    note = await new_note(client)
    refused = await upload(client, note["id"], name, data)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["loc"] == ["file"] and message in refused.json()["error"]["details"][0]["msg"]
    assert (await client.get(f"/api/v1/notes/{note['id']}/files")).json()["items"] == []


async def test_a_body_far_over_the_cap_is_refused_before_it_is_read(client):
    note = await new_note(client)
    refused = await upload(client, note["id"], "huge.bin", b"x" * (4096 + 2**20 + 1))
    assert refused.status_code == 413


async def test_a_request_without_a_file_names_the_field(client):
    note = await new_note(client)
    assert (await client.post(f"/api/v1/notes/{note['id']}/files", json={"file": "x"})).json()["error"]["details"][0]["loc"] == ["header", "content-type"]
    answer = await client.post(f"/api/v1/notes/{note['id']}/files", data={"other": "x"}, files={"nope": ("a.txt", b"a")})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"] == ["body", "file"]


async def test_only_those_who_may_read_the_record_see_its_files_and_only_writers_attach(site, app, client, admin_user):
    ann, bob = make_user(site, "ann@example.com", "sales_rep"), make_user(site, "bob@example.com", "sales_rep")
    note = site.records.create(Actor.system(), "notes", {"title": "ann's", "owner_id": ann["id"]})
    async with http_client(app, ann["token"]) as as_ann, http_client(app, bob["token"]) as as_bob:
        mine = (await upload(as_ann, note["id"], "quote.pdf", PDF)).json()
        assert (await as_bob.get(f"/api/v1/notes/{note['id']}/files")).status_code == 404
        assert (await as_bob.get(mine["url"])).status_code == 404
        assert (await upload(as_bob, note["id"], "x.pdf", PDF)).status_code == 404
        other = await new_note(client, "the admin's")
        theirs = (await upload(client, other["id"], "a.pdf", PDF)).json()
        assert (await as_ann.get(f"/api/v1/notes/{note['id']}/files/{theirs['id']}")).status_code == 404  # another record's file
        assert (await as_ann.delete(mine["url"])).status_code == 204
        assert (await as_ann.get(mine["url"])).status_code == 404
    history = [e["action"] for e in (await client.get(f"/api/v1/notes/{note['id']}/history")).json()["items"]]
    assert history[:2] == ["file_removed", "file_added"]


async def test_a_deleted_record_keeps_its_files_in_the_bin_until_it_is_purged(site, client, clock):
    from kernel.jobs import run_due_jobs

    note = await new_note(client)
    stored = (await upload(client, note["id"], "a.pdf", PDF)).json()
    assert (await client.delete(f"/api/v1/notes/{note['id']}")).status_code == 204
    assert (await client.get(stored["url"])).status_code == 404  # the record is gone from view
    assert (await client.post(f"/api/v1/notes/{note['id']}/restore")).status_code == 200
    assert (await client.get(stored["url"])).content == PDF  # back with it
    assert (await client.delete(f"/api/v1/notes/{note['id']}")).status_code == 204
    clock.advance(days=site.settings.trash_days + 1)
    assert [o.status for o in run_due_jobs(site) if o.job == "kernel.purge_trash"] == ["done"]
    with site.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM kernel_files").scalar() == 0


async def test_a_backup_carries_the_files(site, client, tmp_path):
    note = await new_note(client)
    stored = (await upload(client, note["id"], "a.pdf", PDF)).json()
    write_backup(site, tmp_path / "site.zip")
    with zipfile.ZipFile(tmp_path / "site.zip") as archive:
        rows = [json.loads(line) for line in archive.read("tables/kernel_files.jsonl").splitlines()]
    assert [r["sha256"] for r in rows] == [stored["sha256"]]


def test_the_files_tab_uploads_lists_and_removes_for_a_rep_in_both_languages(site):
    import re

    from tests.web.test_ui import add_user, signed_in

    rep = add_user(site, "ann@example.com", "sales_rep")
    note = site.records.create(Actor.system(), "notes", {"title": "Quote", "owner_id": rep["id"]})
    client, token = signed_in(create_app(site=site), "ann@example.com")
    empty = client.get(f"/r/notes/{note['id']}?tab=files").text
    assert "No files yet." in empty and 'name="file"' in empty and re.search(r'id="tab-files"[^>]*aria-selected="true"', empty)
    sent = client.post(f"/r/notes/{note['id']}/files", data={"csrf_token": token}, files={"file": ("报价单.pdf", PDF, "application/pdf")})
    assert sent.status_code == 303 and sent.headers["location"].endswith("?tab=files")
    panel = client.get(f"/r/notes/{note['id']}/files").text
    assert "报价单.pdf" in panel and "application/pdf" in panel
    refused = client.post(f"/r/notes/{note['id']}/files", data={"csrf_token": token}, files={"file": ("tool.pdf", EXE, "application/pdf")})
    assert refused.status_code == 422 and "programs cannot be attached" in refused.text
    assert client.post("/lang", data={"csrf_token": token, "to": "zh_CN", "next": "/"}).status_code == 303
    chinese = client.get(f"/r/notes/{note['id']}/files").text
    assert "附件" in chinese and "上传附件" in chinese
    file_id = re.search(r"/files/(\d+)/delete", panel).group(1)
    assert client.post(f"/r/notes/{note['id']}/files/{file_id}/delete", data={"csrf_token": token}).status_code == 303
    assert "报价单.pdf" not in client.get(f"/r/notes/{note['id']}/files").text
