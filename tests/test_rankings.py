"""The Friday ranking: snapshots and rank changes across weeks, one message with its picture
per registered group on both messengers, exactly once, and the picture itself."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageChops
from sqlalchemy import Engine, insert

from bot.channels.webhooks import create_app
from bot.runtime import Services
from bot.services import chart
from bot.services.dispatch import Dispatcher
from bot.services.rankings import Board
from dialogs.events import Reply
from storage import units as tree
from storage.models import OutboxStatus, Unit
from tests.utils.bots import on_telegram, on_zalo
from tests.utils.chat import FakeClock
from tests.utils.programme import entries, friday, group, outbox_rows, services_for

W47, W48, W49 = friday(20), friday(27), friday(4, 12)
DAY = dt.timedelta(days=1)


@pytest.fixture
def services(db: Engine, tmp_path: Path) -> Iterator[Services]:
    clock = FakeClock(W49 + dt.timedelta(minutes=1))
    services = services_for(db, clock, tmp_path, rankings={"top": 3})
    yield services
    services.close()


def _text(services: Services, code: str, moment: dt.datetime) -> str:
    """What a group of `code` gets for the week of `moment`."""
    return _board(services, code, moment).text


def _board(services: Services, code: str, moment: dt.datetime) -> Board:
    board = services.rankings.preview(code, services.rankings.calendar.week_of(moment))
    assert board is not None
    return board


def _more_units(db: Engine, count: int) -> None:
    """More grassroots unions under HN-KCN (HN-KCN then ranks six), quota 50 each."""
    at = W47 - 30 * DAY
    with db.begin() as connection:
        parent, ids = tree.unit_rows(connection)["HN-KCN"].id, []
        for n in range(1, count + 1):
            row = connection.execute(
                insert(Unit.__table__).values(  # type: ignore[attr-defined]
                    code=f"HN-X{n:02d}",
                    name=f"CĐCS Công ty Số {n} Hưng Yên",
                    level="grassroots",
                    parent_id=parent,
                    created_at=at,
                )
            )
            ids.append(int(row.inserted_primary_key[0]))  # type: ignore[index]
        tree.set_quotas(connection, "2026", dict.fromkeys(ids, 50))


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isdigit() or line.startswith("👉")]


def test_rank_changes_are_exact_across_three_weeks(db: Engine, services: Services) -> None:
    rankings = services.rankings
    cal = rankings.calendar
    # Before week 47 closes: Canon at 50% of its 60, Thăng Long at 20% of its 25.
    entries(db, "HN-DT03", 30, at=W47 - 3 * DAY)
    entries(db, "HN-CK02", 5, at=W47 - 2 * DAY)
    entries(db, "HN-CK02", 4, at=W47 - 2 * DAY, status="submitted")  # counted, not valid
    for week in (W47, W48, W49):
        if week == W48:  # Thăng Long's good week: 15 of 25 valid
            entries(db, "HN-CK02", 10, at=W48 - 2 * DAY)
        rankings.snapshot(cal.week_of(week), now=week)

    text47 = _text(services, "HN-CK02", W47)
    assert _lines(text47) == [
        "1. CĐCS Công ty TNHH Điện tử Canon Việt Nam: 30 hợp lệ, 50% chỉ tiêu",
        "👉 2. CĐCS Công ty TNHH Cơ khí Thăng Long: 5 hợp lệ, 20% chỉ tiêu",
    ]
    text48 = _text(services, "HN-CK02", W48)
    assert _lines(text48) == [
        "👉 1. CĐCS Công ty TNHH Cơ khí Thăng Long: 15 hợp lệ, 60% chỉ tiêu ▲1",
        "2. CĐCS Công ty TNHH Điện tử Canon Việt Nam: 30 hợp lệ, 50% chỉ tiêu ▼1",
    ]
    assert "🆕 Tuần này có 10 sáng kiến mới." in text48
    assert "📍 Đơn vị mình: hạng 1/2, tăng 1 bậc so với tuần trước." in text48
    text49 = _text(services, "HN-CK02", W49)
    assert _lines(text49) == [
        "👉 1. CĐCS Công ty TNHH Cơ khí Thăng Long: 15 hợp lệ, 60% chỉ tiêu =",
        "2. CĐCS Công ty TNHH Điện tử Canon Việt Nam: 30 hợp lệ, 50% chỉ tiêu =",
    ]
    assert "🆕 Tuần này có 0 sáng kiến mới." in text49
    # A province's group sees its districts, quotas summed from their unions (25 + 60).
    hanoi = _text(services, "HN", W48)
    assert "1. Công đoàn các Khu công nghiệp – chế xuất Hà Nội: 45 hợp lệ, 53% chỉ tiêu" in hanoi


def test_a_stored_week_posts_the_same_numbers_when_run_again(
    db: Engine, services: Services
) -> None:
    cal = services.rankings.calendar
    entries(db, "HN-DT03", 6, at=W49 - DAY)
    week = cal.week_of(W49)
    assert services.rankings.snapshot(week, now=W49)
    before = _text(services, "HN-KCN", W49)
    entries(db, "HN-CK02", 20, at=W49 - DAY)  # recorded late, dated inside the week
    assert not services.rankings.snapshot(week, now=W49 + DAY)
    assert _text(services, "HN-KCN", W49) == before


def test_a_group_sees_its_own_place_below_the_top(db: Engine, services: Services) -> None:
    _more_units(db, 4)
    for n, count in enumerate((40, 30, 20, 10), start=1):
        entries(db, f"HN-X{n:02d}", count, at=W49 - DAY)
    entries(db, "HN-CK02", 1, at=W49 - DAY)
    text = _board(services, "HN-CK02", W49)
    lines = _lines(text.text)
    assert lines[:3] == [
        "1. CĐCS Công ty Số 1 Hưng Yên: 40 hợp lệ, 80% chỉ tiêu",
        "2. CĐCS Công ty Số 2 Hưng Yên: 30 hợp lệ, 60% chỉ tiêu",
        "3. CĐCS Công ty Số 3 Hưng Yên: 20 hợp lệ, 40% chỉ tiêu",
    ]
    assert lines[3] == "👉 5. CĐCS Công ty TNHH Cơ khí Thăng Long: 1 hợp lệ, 4% chỉ tiêu"
    assert "📍 Đơn vị mình: hạng 5/6." in text.text
    assert len(text.bars) == 4 and text.bars[-1].own


async def test_every_group_gets_one_ranking_with_its_picture_on_both_messengers(
    db: Engine, services: Services, tmp_path: Path
) -> None:
    entries(db, "HN-DT03", 12, at=W49 - DAY)
    entries(db, "BN-DT01", 7, at=W49 - 2 * DAY)
    groups = {
        ("telegram", "-1001"): "HN-KCN",
        ("telegram", "-1002"): "BN-DT01",
        ("telegram", "-1003"): "VN",
        ("zalo", "grp-hn"): "HN",
        ("zalo", "grp-dt"): "HN-DT03",
    }
    for (channel, chat_id), code in groups.items():
        group(db, channel, chat_id, code, at=W47)
    dispatcher: Dispatcher = services.dispatcher
    assert services.jobs.run("rankings") == "week 2026-W49: 5 groups queued"
    assert services.jobs.run("rankings") == "already done"
    # Run again by hand (an officer's "did it go?"): nothing new is queued.
    assert services.jobs.run("rankings", force=True) == "week 2026-W49: 0 groups queued"

    async with on_telegram(dispatcher) as (telegram, telegram_channel):
        await dispatcher.flush(telegram_channel)
        await dispatcher.flush(telegram_channel)
    for chat_id in ("-1001", "-1002", "-1003"):
        [message] = telegram.sent[chat_id]
        assert message["photo"] and message["data"].startswith(b"\x89PNG")
        assert message["text"].startswith("🏆 Xếp hạng sáng kiến tuần 49/2026")
    assert "Liên đoàn Lao động TP Hà Nội: 12 hợp lệ" in telegram.sent["-1003"][0]["text"]
    assert "👉 1. CĐCS Công ty TNHH Điện tử Yên Phong" in telegram.sent["-1002"][0]["text"]

    async with on_zalo(dispatcher, images_url="https://bot.example.vn/images") as (zalo, sender):
        await dispatcher.flush(sender)
        await dispatcher.flush(sender)
    for chat_id in ("grp-hn", "grp-dt"):
        [url] = zalo.photos[chat_id]
        [photo, text] = zalo.texts(chat_id)
        assert photo.startswith("[photo]") and "Xếp hạng sáng kiến tuần 49/2026" in text
        assert url.startswith("https://bot.example.vn/images/")
        # The web app serves exactly that picture, and nothing it did not make.
        app = create_app(images=services.images)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as web:
            served = await web.get("/images/" + url.rsplit("/", 1)[1])
            assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
            assert (await web.get("/images/..%2Fsangkien.db")).status_code == 404
            assert (await web.get("/images/nope.png")).status_code == 404
    assert {row.status for row in outbox_rows(db)} == {OutboxStatus.SENT.value}


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
async def test_a_group_that_refuses_the_post_has_it_go_to_its_officers(
    db: Engine, services: Services, channel: str
) -> None:
    """Zalo's group chats are in beta: a post can fail where a private message works."""
    for number, (name, code) in enumerate(
        [("Phạm Thu Hà", "HN-KCN"), ("Lê Văn Tâm", "HN-KCN"), ("Ngô Lan", "BN-YP")], start=501
    ):
        services.groups.add_officer(channel, str(number), name, code)
    group(db, channel, "-1009", "HN-KCN", at=W47)
    services.jobs.run("rankings")
    bots = (
        on_telegram(services.dispatcher) if channel == "telegram" else on_zalo(services.dispatcher)
    )
    async with bots as (fake, sender):
        fake.blocked.add("-1009")  # the bot was removed, or the group refuses posts
        await services.dispatcher.flush(sender)
        await services.dispatcher.flush(sender)
    texts = {chat: _texts(fake, chat) for chat in ("-1009", "501", "502", "503")}
    assert texts["-1009"] == [] and texts["503"] == []  # 503 serves another district
    for officer in ("501", "502"):
        [text] = texts[officer]
        assert text.startswith("🏆 Xếp hạng sáng kiến tuần 49/2026")
    statuses = sorted(row.status for row in outbox_rows(db))
    assert statuses == [OutboxStatus.FAILED.value] + [OutboxStatus.SENT.value] * 2


def _texts(fake: object, chat_id: str) -> list[str]:
    sent = fake.sent[chat_id]  # type: ignore[attr-defined]
    return [
        m["text"] if isinstance(m, dict) else m for m in sent if not str(m).startswith("[photo]")
    ]


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_the_picture_is_a_phone_wide_png_with_its_names_drawn() -> None:
    names = [
        "CĐCS Công ty TNHH Điện tử Canon Việt Nam",
        "Liên đoàn Lao động tỉnh Bắc Ninh",
        "Công đoàn ngành Dệt May – Nguyễn Thị Hường",
        "Ủy ban Kiểm tra: ằ ẳ ẵ ặ ề ể ễ ệ ồ ổ ỗ ộ ờ ở ỡ ợ ừ ử ữ ự ỳ ỷ ỹ ỵ",
    ]
    bars = [chart.Bar(n + 1, name, 30 - 5 * n, 40, "▲1", n == 1) for n, name in enumerate(names)]
    # Warnings are errors here: a glyph missing from the font would fail this call.
    data = chart.render("Xếp hạng sáng kiến tuần 49/2026", "LĐLĐ tỉnh Bắc Ninh", bars)
    image = _png(data)
    assert image.format == "PNG" and image.width == 1080
    assert 450 <= image.height <= 700 and len(data) > 20_000
    taller = _png(chart.render("t", "s", bars * 3))
    assert taller.width == 1080 and taller.height > image.height + 400
    # The names are drawn: the label column differs from the same chart without them.
    blank = [chart.Bar(b.rank, "", b.valid, b.target, b.change, b.own) for b in bars]
    unnamed = _png(chart.render("Xếp hạng sáng kiến tuần 49/2026", "LĐLĐ tỉnh Bắc Ninh", blank))
    box = (0, 150, int(image.width * 0.4), image.height - 100)
    difference = ImageChops.difference(image.convert("L").crop(box), unnamed.convert("L").crop(box))
    assert int((np.asarray(difference) > 64).sum()) > 3000
    # The own unit's bar is amber, the others green.
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours = {tuple(int(v) for v in pixel) for pixel in np.unique(pixels, axis=0)}
    assert (0xF9, 0xA8, 0x25) in colours and (0x2E, 0x7D, 0x32) in colours


def test_many_pictures_are_drawn_in_worker_processes_the_same() -> None:
    charts = [
        chart.Chart(
            f"Xếp hạng sáng kiến tuần {n}/2026", "Quận 5", (chart.Bar(1, "Đơn vị", n, 20, "="),)
        )
        for n in range(chart.POOL_FROM)
    ]
    drawn = chart.render_all(charts)
    assert len(drawn) == len(charts)
    assert drawn[3] == chart.render(charts[3].title, charts[3].subtitle, charts[3].bars)
    assert len(set(drawn)) == len(charts)


async def test_a_ranking_too_long_for_a_caption_follows_its_picture(
    db: Engine, services: Services, tmp_path: Path
) -> None:
    picture = tmp_path / ("p" * 24 + ".png")
    picture.write_bytes(chart.render("t", "s", [chart.Bar(1, "Đơn vị", 3, 5, "=")]))
    long_text = "🏆 Xếp hạng sáng kiến tuần 49/2026\n" + "\n".join(
        f"{n}. Công đoàn cơ sở Công ty TNHH Điện tử số {n}: {n} hợp lệ" for n in range(1, 30)
    )
    assert len(long_text) > 1024
    async with on_telegram(services.dispatcher) as (telegram, channel):
        await channel.send("-1001", Reply(long_text, photo=str(picture)))
        await channel.send("-1002", Reply("🏆 ngắn", photo=str(tmp_path / "gone.png")))
    photo, text = telegram.sent["-1001"]
    assert photo["data"].startswith(b"\x89PNG") and not photo["text"]
    assert text["text"] == long_text
    [alone] = telegram.sent["-1002"]  # the picture was deleted: the text still goes
    assert alone["text"] == "🏆 ngắn" and "photo" not in alone


async def test_zalo_without_a_public_address_gets_the_ranking_as_text(
    db: Engine, services: Services
) -> None:
    group(db, "zalo", "grp-1", "HN-KCN", at=W47)
    services.jobs.run("rankings")
    async with on_zalo(services.dispatcher) as (zalo, sender):  # no images_url
        await services.dispatcher.flush(sender)
    [text] = zalo.texts("grp-1")
    assert text.startswith("🏆 Xếp hạng sáng kiến tuần 49/2026") and zalo.photos["grp-1"] == []
