"""The officers' web pages at the HTTP level, served for real on 127.0.0.1 over both
backends: signing in with the link the chat sends, sessions, CSRF, the subtree an officer
may reach on every route, decisions in bulk and their races, quotas, imports, exports.

The people: Hùng serves the district HN-LB (so the grassroots union HN-DM01 under it), Mai
serves HN-DM01 itself, Tuấn the district BN-YP of another province. The browser tests are in
test_browser.py.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, insert, select, update

from bot.web.app import COOKIE, OfficerPages
from dialogs import messages as msg
from storage.models import Initiative, OutboxMessage, Person, Quota, VoiceNote
from tests.utils import programme
from tests.utils.chat import FakeClock
from tests.utils.web import Site, outbox_texts, submitted

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def site(db: Engine, tmp_path: Path) -> Iterator[Site]:
    with Site(db, tmp_path, FakeClock()) as running:
        running.officer("hung", "Trần Văn Hùng", "HN-LB")
        running.officer("mai", "Lê Thị Mai", "HN-DM01")
        running.officer("tuan", "Phạm Văn Tuấn", "BN-YP")
        yield running


def csrf_of(client: httpx.Client) -> str:
    found = CSRF.search(client.get("/web/").text)
    assert found is not None
    return found.group(1)


def notes(page: httpx.Response) -> list[str]:
    return re.findall(r'class="(?:note|problem)"[^>]*>([^<]+)<', page.text)


def status_of(db: Engine, initiative_id: int) -> str:
    with db.connect() as connection:
        table = Initiative.__table__  # type: ignore[attr-defined]
        return str(connection.scalar(select(table.c.status).where(table.c.id == initiative_id)))


# --- signing in ------------------------------------------------------------------------------


def test_web_in_the_chat_gives_officers_a_link_once_in_a_while(site: Site) -> None:
    site.say("lan", "xin chào")
    assert msg.OFFICERS_ONLY in site.say("lan", "/web")  # a worker gets nothing
    first = site.link("hung")
    assert first.startswith(f"{site.url}/web/login/")
    links = {first} | {site.link("hung") for _ in range(4)}
    assert len(links) == 5  # each one new
    assert msg.WEB_TOO_MANY in site.say("hung", "/web")  # the sixth within 15 minutes
    site.clock.advance(minutes=16)
    assert site.link("hung")


def test_a_link_shows_a_button_to_a_get_and_signs_in_once_on_post(site: Site) -> None:
    link = site.link("hung")
    with site.client() as client:
        for _ in range(2):  # Telegram's preview fetch, then the officer: nobody signed in
            page = client.get(link)
            assert page.status_code == 200 and msg.WEB_LOGIN_BUTTON in page.text
            assert "set-cookie" not in page.headers
        signed = client.post(link)
        assert signed.status_code == 303
        assert signed.headers["location"] == f"{site.url}/web/"
        cookie = signed.headers["set-cookie"].lower()
        for attribute in ("secure", "httponly", "samesite=lax", "path=/web"):
            assert attribute in cookie
        assert client.post(link).status_code == 410  # used once
        assert msg.WEB_LOGIN_GONE in client.get(link).text
        late = site.link("hung")
        site.clock.advance(minutes=15, seconds=1)
        assert client.post(late).status_code == 410  # 15 minutes at most
        assert client.post(f"{site.url}/web/login/forged").status_code == 410


def test_every_page_needs_a_session_and_says_no_referrer(site: Site) -> None:
    with site.client() as client:
        for path in ("/web/", "/web/entry/1", "/web/rankings", "/web/units", "/web/export",
                     "/web/export/download", "/web/officers", "/web/jobs"):  # fmt: skip
            page = client.get(path)
            assert page.status_code == 401, path
            assert page.headers["referrer-policy"] == "no-referrer"
            assert msg.WEB_NOT_SIGNED_IN in page.text
        client.headers["Cookie"] = f"{COOKIE}=made-up"
        assert client.get("/web/").status_code == 401
        assert client.get(site.link("hung")).headers["referrer-policy"] == "no-referrer"
    with site.signed_in("hung") as client:
        page = client.get("/web/")
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_post_needs_the_pages_csrf_token_and_our_own_origin(site: Site) -> None:
    [entry] = submitted(site.db, "HN-DM01", 1, at=site.clock())
    with site.signed_in("hung") as client:
        token = csrf_of(client)
        form = {"entry": f"{entry}:grassroots", "decision": "valid"}
        assert client.post("/web/decide", data=form).status_code == 403
        assert client.post("/web/decide", data=form | {"csrf": "0" * 64}).status_code == 403
        evil = {"Origin": "https://evil.example", "X-CSRF-Token": token}
        assert client.post("/web/decide", data=form, headers=evil).status_code == 403
        assert status_of(site.db, entry) == "submitted"
        done = client.post("/web/decide", data=form, headers={"X-CSRF-Token": token})
        assert done.status_code == 200 and msg.WEB_DECIDED.format(count=1) in notes(done)
        assert status_of(site.db, entry) == "valid"
    with site.signed_in("mai") as other:  # another officer's token is not this session's
        assert other.post("/web/logout", headers={"X-CSRF-Token": token}).status_code == 403


def test_sessions_are_listed_and_revoked_from_the_command_line(
    site: Site, db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "web.toml"
    config.write_text(f'database_url = "{db_url}"\ndata_dir = "{tmp_path}"\n')

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sangkien", "--config", str(config), "web", "sessions", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    site.clock.now = dt.datetime.now(dt.UTC)  # the command line reads the real clock
    with site.signed_in("hung") as hung, site.signed_in("mai") as mai:
        listed = run("list").stdout.splitlines()
        assert len(listed) == 2 and {line.split("\t")[2] for line in listed} == {
            "Trần Văn Hùng",
            "Lê Thị Mai",
        }
        hung_session = next(line for line in listed if "Hùng" in line).split("\t")[0]
        assert run("revoke", hung_session).returncode == 0
        assert hung.get("/web/").status_code == 401
        assert mai.get("/web/").status_code == 200
        assert run("revoke", hung_session).returncode == 1
        assert run("revoke").returncode == 2


# --- authority -------------------------------------------------------------------------------


def test_no_route_reaches_anything_outside_the_officers_units(site: Site, tmp_path: Path) -> None:
    [theirs] = submitted(site.db, "BN-DT01", 1, at=site.clock())
    [ours] = submitted(site.db, "HN-DM01", 1, at=site.clock())
    note = _voice_note(site.db, theirs, tmp_path)
    with site.signed_in("hung") as client:
        token = {"X-CSRF-Token": csrf_of(client)}
        gets = [
            f"/web/entry/{theirs}",
            f"/web/entry/{theirs}/audio/{note}",
            f"/web/entry/{ours}/audio/{note}",  # another entry's recording through ours
            "/web/?unit=BN-DT01",
            "/web/rankings?unit=BN",
            "/web/rankings/picture?unit=BN-YP",
            "/web/export/download?unit=BN-DT01&format=csv",
            "/web/export/download?unit=BN-DT01&format=xlsx",
            "/web/units/import/0123456789abcdef",
            "/web/entry/999999",
        ]
        for path in gets:
            assert client.get(path).status_code == 404, path
        posts = [
            ("/web/units/quota", {"code": "BN-DT01", "period": "2026", "quota": "5"}),
            ("/web/officers/invite", {"unit": "BN-DT01", "days": "7"}),
            ("/web/officers/remove", {"person": "3", "unit": "BN-YP"}),
        ]
        for path, form in posts:
            assert client.post(path, data=form, headers=token).status_code == 404, path
        decided = client.post(
            "/web/decide",
            data={"entry": f"{theirs}:grassroots", "decision": "valid"},
            headers=token,
        )
        assert msg.WEB_NOT_YOURS.format(ids=theirs) in notes(decided)
        assert status_of(site.db, theirs) == "submitted"
        page = client.get("/web/?status=all").text
        assert f"/web/entry/{ours}" in page and f"/web/entry/{theirs}" not in page
        assert client.get(f"/web/entry/{ours}").status_code == 200
        csv_text = client.get("/web/export/download?format=csv").text
        assert "HN-DM01" in csv_text and "BN-DT01" not in csv_text
        units = client.get("/web/units").text
        assert "HN-DM01" in units and "BN-DT01" not in units and "HN-KCN" not in units
        officers = client.get("/web/officers").text
        assert "Lê Thị Mai" in officers and "Phạm Văn Tuấn" not in officers
    with site.signed_in("mai") as grassroots:  # below Hùng: his district is out of reach
        assert grassroots.get("/web/rankings?unit=HN-LB").status_code == 404
        assert grassroots.get(f"/web/entry/{ours}").status_code == 200


def _voice_note(db: Engine, initiative_id: int, folder: Path) -> int:
    path = folder / "note.ogg"
    path.write_bytes(b"OggS-not-really")
    table = VoiceNote.__table__  # type: ignore[attr-defined]
    with db.begin() as connection:
        author = connection.scalar(
            select(Initiative.__table__.c.author_id).where(  # type: ignore[attr-defined]
                Initiative.__table__.c.id == initiative_id  # type: ignore[attr-defined]
            )
        )
        row = connection.execute(
            table.insert().values(
                person_id=author,
                initiative_id=initiative_id,
                field="problem",
                path=str(path),
                duration_s=4.2,
                engine="viet-asr",
                raw_text="máy hay kẹt vải",
                text="Máy hay kẹt vải",
                words=[],
                created_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
            )
        )
        initiative = Initiative.__table__  # type: ignore[attr-defined]
        connection.execute(  # as a turn records a part answered by voice
            update(initiative)
            .where(initiative.c.id == initiative_id)
            .values(sources={"problem": "voice"}, spoken=True)
        )
        return int(row.inserted_primary_key[0])  # type: ignore[index]


# --- the queue -------------------------------------------------------------------------------


def test_two_entries_decided_at_once_while_another_officer_takes_one(site: Site) -> None:
    lan = programme.person(site.db, "Nguyễn Thị Lan", at=site.clock())
    programme.chat_of(site.db, lan, "test", "lan-chat", at=site.clock())
    first, second, third = submitted(site.db, "HN-DM01", 3, at=site.clock(), author=lan)
    with site.signed_in("hung") as hung, site.signed_in("mai") as mai:
        hung_token, mai_token = csrf_of(hung), csrf_of(mai)
        queue = hung.get("/web/").text
        for entry in (first, second, third):
            assert f'value="{entry}:grassroots"' in queue
        taken = mai.post(
            "/web/decide",
            data={"entry": f"{first}:grassroots", "decision": "valid", "csrf": mai_token},
        )
        assert msg.WEB_DECIDED.format(count=1) in notes(taken)
        returned = hung.post(
            "/web/decide",
            data={
                "entry": [f"{first}:grassroots", f"{second}:grassroots", f"{third}:grassroots"],
                "decision": "returned",
                "csrf": hung_token,
            },
        )
        assert msg.WEB_REASON_NEEDED in notes(returned)  # as the chat asks for one
        assert status_of(site.db, second) == "submitted"
        both = hung.post(
            "/web/decide",
            data={
                "entry": [f"{first}:grassroots", f"{second}:grassroots", f"{third}:grassroots"],
                "decision": "returned",
                "reason": "Ghi rõ số phút tiết kiệm",
                "csrf": hung_token,
            },
        )
        said = notes(both)
        assert msg.WEB_DECIDED.format(count=2) in said
        assert msg.WEB_TAKEN.format(ids=first) in said  # Mai was first: not changed
        assert [status_of(site.db, e) for e in (first, second, third)] == [
            "valid",
            "returned",
            "returned",
        ]
        told = outbox_texts(site.db, "lan-chat")
        assert sum("Ghi rõ số phút tiết kiệm" in text for text in told) == 2
        again = hung.post(  # a double tap: nothing more happens
            "/web/decide",
            data={"entry": f"{second}:grassroots", "decision": "valid", "csrf": hung_token},
        )
        assert msg.WEB_TAKEN.format(ids=second) in notes(again)
        assert status_of(site.db, second) == "returned"


def test_the_queue_filters_sorts_and_pages(site: Site) -> None:
    at = site.clock()
    cheap = submitted(site.db, "HN-DM01", 1, at=at, title="Kệ để khuôn", value=1_000_000)
    dear = submitted(
        site.db, "HN-DM01", 1, at=at + dt.timedelta(days=1), title="Bơm nước", value=90_000_000
    )
    many = submitted(site.db, "HN-DM01", 55, at=at - dt.timedelta(days=3), title="Cũ")
    with site.signed_in("hung") as client:
        by_value = client.get("/web/?sort=value").text
        assert by_value.index("Bơm nước") < by_value.index("Kệ để khuôn")
        assert "90.000.000 đ" in by_value
        newest = client.get("/web/?sort=newest").text
        assert newest.index("Bơm nước") < newest.index("Cũ")
        day = (at + dt.timedelta(days=1)).astimezone(programme.VN).date().isoformat()
        one_day = client.get(f"/web/?from={day}&to={day}").text
        assert "Bơm nước" in one_day and "Kệ để khuôn" not in one_day
        assert msg.WEB_COUNT.format(count=57) in client.get("/web/?unit=hn-dm01").text
        first_page = client.get("/web/").text
        assert msg.WEB_PAGE_NEXT in first_page and first_page.count('name="entry"') == 50
        second_page = client.get("/web/?page=2").text
        assert second_page.count('name="entry"') == 7
        assert msg.WEB_EMPTY in client.get("/web/?voice=1").text
        assert msg.WEB_BAD_DATE in client.get("/web/?from=31/12/2026").text
        assert msg.WEB_EMPTY in client.get("/web/?status=valid").text
    assert cheap and dear and many


# --- units, quotas, imports --------------------------------------------------------------------


def test_a_quota_is_edited_in_place_and_bad_numbers_are_refused(site: Site) -> None:
    with site.signed_in("hung") as client:
        token = {"X-CSRF-Token": csrf_of(client)}
        saved = client.post(
            "/web/units/quota",
            data={"code": "HN-DM01", "period": "2026", "quota": "1.200"},
            headers=token,
        )
        assert saved.status_code == 200 and msg.WEB_QUOTA_SAVED in saved.text
        assert 'value="1200"' in saved.text
        for bad in ("-5", "²", "1e9", "20000000", "mười"):
            refused = client.post(
                "/web/units/quota",
                data={"code": "HN-DM01", "period": "2026", "quota": bad},
                headers=token,
            )
            assert refused.status_code == 422 and msg.WEB_QUOTA_BAD in refused.text, bad
    table = Quota.__table__  # type: ignore[attr-defined]
    with site.db.connect() as connection:
        targets = connection.execute(
            select(table.c.target).where(
                table.c.unit_id == programme.unit_id(site.db, "HN-DM01"), table.c.period == "2026"
            )
        ).scalars()
        assert list(targets) == [1200]


def test_a_unit_file_is_previewed_then_imported_and_a_bad_one_refused_whole(site: Site) -> None:
    good = (
        "code,name,level,parent_code,quota\n"
        "HN-DM01,CĐCS Dệt may 01 (mới),grassroots,HN-LB,45\n"
        "HN-XD09,CĐCS Xây dựng 09,grassroots,HN-LB,12\n"
    )
    bad = (
        "code,name,level,parent_code,quota\n"
        "HN-XD10,CĐCS Xây dựng 10,grassroots,HN-LB,²\n"
        "BN-XX01,CĐCS ngoài,grassroots,BN-YP,3\n"
        "HN-XD11,,grassroots,HN-LB,4\n"
        "HN-CK02,Kéo từ nhánh khác về,grassroots,HN-LB,1\n"  # HN-KCN's: not his to move in
        "HN-LB,Tự chuyển đi,district,BN,\n"  # his own unit: not his to move out
    )
    with site.signed_in("hung") as client:
        token = {"X-CSRF-Token": csrf_of(client)}

        def upload(text: str, name: str = "units.csv") -> httpx.Response:
            return client.post(
                "/web/units/import",
                data={"period": "2026"},
                files={"file": (name, io.BytesIO(text.encode()), "text/csv")},
                headers=token,
            )

        refused = upload(bad)
        assert refused.status_code == 422
        for row in ("Dòng 2:", "Dòng 3:", "Dòng 4:", "Dòng 5:", "Dòng 6:"):
            assert row in refused.text
        assert msg.WEB_UNIT_OUTSIDE.format(code="HN-CK02") in refused.text
        assert msg.WEB_UNIT_OUTSIDE.format(code="HN-LB") in refused.text
        assert "BN-XX01" in refused.text
        assert upload("\x89PNG\r\n\x1a\n\x00\x00", "units.xlsx").status_code == 422
        preview = upload(good)
        assert preview.status_code == 200
        assert msg.WEB_IMPORT_NEW.format(count=1) in preview.text
        assert msg.WEB_IMPORT_RENAMED.format(count=1) in preview.text
        assert msg.WEB_IMPORT_QUOTAS.format(count=2) in preview.text  # 40 → 45, and the new one
        assert "HN-DM01 40 → 45" in preview.text
        assert "HN-XD09" not in client.get("/web/units").text  # nothing yet
        name = re.search(r'name="upload" value="([^"]+)"', preview.text)
        assert name is not None
        started = client.post(
            "/web/units/import/apply",
            data={"upload": name.group(1), "period": "2026"},
            headers=token,
        )
        assert started.status_code == 200
        job = re.search(r'data-job="([0-9a-f]+)"', started.text)
        done = started.text
        for _ in range(100):
            if "import-done" in done:
                break
            assert job is not None
            done = client.get(f"/web/units/import/{job.group(1)}").text
        assert msg.WEB_IMPORT_DONE.format(created=1, updated=1, quotas=2) in done
        units = client.get("/web/units").text
        assert "CĐCS Xây dựng 09" in units and "CĐCS Dệt may 01 (mới)" in units
        again = upload(good)
        assert msg.WEB_IMPORT_NOTHING in again.text and "apply-import" not in again.text
    with site.signed_in("mai") as other:  # her session cannot see his import's progress
        assert job is not None
        assert other.get(f"/web/units/import/{job.group(1)}").status_code == 404


# --- entries, rankings, exports, officers, jobs ----------------------------------------------


def test_an_entry_page_has_every_field_history_and_the_recordings(
    site: Site, tmp_path: Path
) -> None:
    [entry] = submitted(site.db, "HN-DM01", 1, at=site.clock(), title="Gắn thanh dẫn vải")
    note = _voice_note(site.db, entry, tmp_path)
    with site.signed_in("hung") as client:
        assert f"/web/entry/{entry}" in client.get("/web/?voice=1").text
        page = client.get(f"/web/entry/{entry}")
        assert "Gắn thanh dẫn vải" in page.text and "HN-DM01" in page.text
        assert f'src="/web/entry/{entry}/audio/{note}"' in page.text
        assert msg.WEB_ENTRY_HEARD.format(text="Máy hay kẹt vải") in page.text
        audio = client.get(f"/web/entry/{entry}/audio/{note}")
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/ogg"
        decided = client.post(
            "/web/decide",
            data={
                "entry": f"{entry}:grassroots",
                "decision": "rejected",
                "reason": "Đã có từ trước",
                "from_entry": "1",
                "csrf": csrf_of(client),
            },
        )
        assert "Đã có từ trước" in decided.text and "Trần Văn Hùng" in decided.text
        assert msg.WEB_STATUS["rejected"] in decided.text


def test_rankings_show_the_picture_and_a_sortable_table_of_each_level(site: Site) -> None:
    programme.entries(site.db, "HN-DM01", 3, at=programme.friday(13) - dt.timedelta(days=1))
    site.clock.now = programme.friday(20) + dt.timedelta(hours=1)
    with site.signed_in("hung") as client:
        page = client.get("/web/rankings?sort=valid")
        assert page.status_code == 200 and "HN-DM01" in page.text
        assert 'src="/web/rankings/picture?unit=HN-LB' in page.text
        picture = client.get("/web/rankings/picture?unit=HN-LB")
        assert picture.content.startswith(b"\x89PNG")
        week = client.get("/web/rankings?unit=HN-LB&week=2026-W46")
        assert msg.WEB_RANKINGS.format(week="46/2026") in week.text
    with site.signed_in("mai") as grassroots:  # nothing under her union: nothing to rank
        page = grassroots.get("/web/rankings")
        assert msg.WEB_RANKINGS_NONE in page.text and "HN-CK02" not in page.text
        assert grassroots.get("/web/rankings/picture?unit=HN-DM01").status_code == 404


def test_exports_keep_to_the_subtree_csv_for_machines_xlsx_for_people(site: Site) -> None:
    submitted(site.db, "HN-DM01", 2, at=site.clock(), value=5_000_000)
    submitted(site.db, "BN-DT01", 1, at=site.clock())
    with site.signed_in("hung") as client:
        csv_file = client.get("/web/export/download?format=csv")
        assert csv_file.headers["content-type"].startswith("text/csv")
        assert csv_file.text.startswith("\ufeffid,status,unit_code")
        assert csv_file.text.count("HN-DM01") == 2
        xlsx = client.get("/web/export/download?format=xlsx&status=submitted")
        assert "attachment" in xlsx.headers["content-disposition"]
        sheet = load_workbook(io.BytesIO(xlsx.content))["Sáng kiến"]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:2] == ("Số", "Trạng thái") and len(rows) == 3
        assert {row[1] for row in rows[1:]} == {"Chờ duyệt"}
        assert client.get("/web/export/download?format=csv&from=hôm-qua").status_code == 422


def test_officers_invite_and_remove_in_their_subtree(site: Site) -> None:
    with site.signed_in("hung") as client:
        token = {"X-CSRF-Token": csrf_of(client)}
        made = client.post(
            "/web/officers/invite", data={"unit": "hn-dm01", "days": "3"}, headers=token
        )
        code = re.search(r"/canbo ([A-Z0-9]{4}-[A-Z0-9]{4})", made.text)
        assert code is not None
        assert "cán bộ công đoàn của" in site.say("binh", f"/canbo {code.group(1)}")
        assert (
            msg.WEB_INVITE_BAD_DAYS
            in client.post(
                "/web/officers/invite", data={"unit": "HN-DM01", "days": "400"}, headers=token
            ).text
        )
        page = client.get("/web/officers").text
        mai = re.search(r'name="person" value="(\d+)"><input type="hidden" name="unit" '
                        r'value="HN-DM01"><input type="hidden" name="name" value="Lê Thị Mai"',
                        page.replace("\n", "").replace("  ", ""))  # fmt: skip
        assert mai is not None
        removed = client.post(
            "/web/officers/remove",
            data={"person": mai.group(1), "unit": "HN-DM01", "name": "Lê Thị Mai"},
            headers=token,
        )
        assert msg.WEB_OFFICER_REMOVED.format(name="Lê Thị Mai", unit="HN-DM01") in removed.text
    assert msg.OFFICERS_ONLY in site.say("mai", "/web")  # and she is signed out of the pages


def test_scheduled_work_shows_jobs_and_given_up_messages_of_the_subtree(site: Site) -> None:
    for name, code, chat in (("Lan", "HN-DM01", "555"), ("Hoa", "BN-DT01", "777")):
        person = programme.person(site.db, name, at=site.clock())
        programme.chat_of(site.db, person, "telegram", chat, at=site.clock())
        unit = programme.unit_id(site.db, code)
        with site.db.begin() as connection:
            connection.execute(
                update(Person.__table__)  # type: ignore[attr-defined]
                .where(Person.__table__.c.id == person)  # type: ignore[attr-defined]
                .values(unit_id=unit)
            )
            connection.execute(
                insert(OutboxMessage.__table__).values(  # type: ignore[attr-defined]
                    channel="telegram",
                    chat_id=chat,
                    kind="reply",
                    status="failed",
                    payload={"replies": [{"text": "x"}]},
                    last_error=f"Forbidden: bot was blocked by the user {chat}",
                    created_at=site.clock(),
                )
            )
    with site.signed_in("hung") as client:
        page = client.get("/web/jobs").text
        assert msg.WEB_JOB_NAMES["rankings"] in page and msg.WEB_JOB_NEVER in page
        assert "blocked by the user 555" in page and "777" not in page


def test_a_session_ends_after_its_hours_and_the_nightly_prune_forgets_it(site: Site) -> None:
    with site.signed_in("hung") as client:
        assert client.get("/web/").status_code == 200
        site.clock.advance(hours=11, minutes=59)
        assert client.get("/web/").status_code == 200
        site.clock.advance(minutes=2)
        assert client.get("/web/").status_code == 401  # [web] session_hours = 12
    assert site.services.access.sessions() == []
    done = site.services.jobs.run("prune", force=True)
    assert "1 expired web sessions" in done
    with site.signed_in("mai") as client:  # signing out ends it at once
        token = csrf_of(client)
        assert client.post("/web/logout", headers={"X-CSRF-Token": token}).status_code == 200
        assert client.get("/web/").status_code == 401


def test_behind_a_proxy_under_a_path_every_link_carries_the_path(site: Site) -> None:
    pages = OfficerPages(
        access=site.services.access,
        portal=site.services.portal,
        units=site.services.units,
        reports=site.services.reports,
        public_url="https://congdoan.example/sangkien/",
        uploads=site.pages.uploads,
        clock=site.clock,
    )
    page = bytes(pages.render("login.html", None, action=pages.url("/web/login/x")).body).decode()
    assert 'href="/sangkien/web/static/site.css"' in page
    assert 'action="https://congdoan.example/sangkien/web/login/x"' in page
    assert '"/web/' not in page


def test_a_file_too_big_is_refused_before_it_is_read(site: Site) -> None:
    with site.signed_in("hung") as client:
        token = {"X-CSRF-Token": csrf_of(client)}
        huge = io.BytesIO(b"code,name,level,parent_code,quota\n" + b"x" * (22 * 2**20))
        refused = client.post(
            "/web/units/import",
            data={"period": "2026"},
            files={"file": ("units.csv", huge, "text/csv")},
            headers=token,
        )
        assert refused.status_code == 413
        assert msg.WEB_IMPORT_TOO_BIG.format(mb=20) in refused.text
        uploads = site.pages.uploads
        assert not uploads.exists() or not any(uploads.iterdir())  # nothing kept of it


def test_an_officer_of_a_district_and_a_union_under_it_sees_each_unit_once(site: Site) -> None:
    review = site.services.review
    code = review.invite("HN-DM01", expires=dt.timedelta(days=1)).code
    assert "cán bộ công đoàn của" in site.say("hung", f"/canbo {code}")  # HN-LB's officer too
    with site.signed_in("hung") as client:
        units = client.get("/web/units").text
        assert units.count("<td>HN-DM01</td>") == 1 and units.count("<td>HN-LB</td>") == 1
