"""The bot speaks: the union's recorded questions (prompt packs), recorded in the chat with
/ghiam or imported from files, played to a worker who asks for them; and help for a worker
who cannot answer a question.

The end-to-end tests drive the real clients against the fake Bot APIs and hear real
recordings with the real ear. No recording of our own questions exists, so for those tests
three questions are worded as three recorded sentences are (the union's own wording, as it
were): what the officer reads aloud is then what the ear can check.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from bot.channels.telegram import TelegramChannel
from bot.channels.webhooks import create_app
from bot.cli import app
from bot.services.database import Database
from bot.services.prompts import PromptPacks
from bot.services.review import ReviewService
from bot.services.voice import VoiceInbox
from bot.settings import VoiceSettings
from dialogs import messages as msg
from dialogs import prompts
from dialogs.engine import handle
from dialogs.events import Clip, Reply, UnsupportedIn, VoiceIn, in_bubbles, parse_text
from dialogs.flows.submit import SUBMIT
from dialogs.state import BenefitKind, State, Step
from storage.models import PromptClip, Unit
from tests.fakes.base import served_here
from tests.fakes.telegram import FakeTelegram, TelegramUser
from tests.fakes.zalo import ZaloUser
from tests.utils.audio import encode, recording, samples, wav_bytes
from tests.utils.bots import on_telegram, on_zalo
from tests.utils.chat import Recorder, dispatcher_for
from tests.utils.memory import MemoryDesk, MemoryDirectory

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)

# Three questions worded as three recorded sentences (see the module's docstring).
WORDING = {
    "PROMPTS.PROBLEM": "khủng hoảng môi trường cần được ngăn chặn",
    "PROMPTS.SOLUTION": "trong số các quốc gia công nghiệp phát triển",
    "BENEFIT_DETAIL_PROMPTS.TIME": "hấp dẫn nhất là cuộc thi bơi thuyền truyền thống",
}
STICKER = {
    "file_id": "st1",
    "file_unique_id": "st1",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "type": "regular",
}
ELSE = "mấy sào ruộng của gia đình ông đành bỏ hoang cho cỏ mọc"  # a note of the wrong text


def _note(sentence: str) -> bytes:
    return encode(samples(recording("vivos", sentence)), "ogg")


@pytest.fixture
def union_wording(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The three questions worded as WORDING says (each with its emoji, as ours are)."""
    monkeypatch.setitem(msg.PROMPTS, Step.PROBLEM, f"⚠️ {WORDING['PROMPTS.PROBLEM'].capitalize()}.")
    monkeypatch.setitem(
        msg.PROMPTS, Step.SOLUTION, f"💡 {WORDING['PROMPTS.SOLUTION'].capitalize()}."
    )
    monkeypatch.setitem(
        msg.BENEFIT_DETAIL_PROMPTS,
        BenefitKind.TIME,
        f"⏱️ {WORDING['BENEFIT_DETAIL_PROMPTS.TIME'].capitalize()}.",
    )
    _forget_pack()
    yield WORDING
    monkeypatch.undo()
    _forget_pack()


def _forget_pack() -> None:
    prompts.pack.cache_clear()
    prompts._by_text.cache_clear()


def _clips(db: Engine) -> list[tuple[str, str, float | None, str | None]]:
    """(unit code, message, score, Telegram's id) of every clip."""
    clip, unit = PromptClip.__table__, Unit.__table__  # type: ignore[attr-defined]
    with db.connect() as connection:
        rows = connection.execute(
            select(unit.c.code, clip.c.message_key, clip.c.score, clip.c.telegram_file_id)
            .join(unit, unit.c.id == clip.c.unit_id)
            .order_by(clip.c.message_key)
        ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


# --- the pack: names, texts, what is read aloud ---------------------------------------------


def test_every_message_of_the_pack_is_a_fixed_text_read_without_its_emoji() -> None:
    pack = prompts.pack()
    assert len(pack) == len(prompts.NAMES) == 40
    for number, script in enumerate(pack.values(), start=1):
        assert script.number == number
        assert "{" not in script.text, f"{script.key} changes: it cannot be recorded"
        assert script.said and script.said[0].isalnum(), script.said  # no emoji to read
        assert prompts.find(str(number)) == script
        assert prompts.find(script.key.lower()) == script
    assert prompts.find("41") is None and prompts.find("PROMPTS.NOTHING") is None
    # A question that always offers the same choices says them.
    said = pack["PROMPTS.BENEFIT_KIND"].said
    assert "1. Tiết kiệm thời gian." in said and "6. Lợi ích khác." in said


def test_replies_are_tagged_with_their_message_and_a_changed_text_is_stale(
    union_wording: dict[str, str],
) -> None:
    replies = prompts.tag([Reply(msg.PROMPTS[Step.PROBLEM]), Reply("✅ Đã lưu: 30 phút.")])
    assert [reply.say for reply in replies] == ["PROMPTS.PROBLEM", None]
    said = prompts.pack()["PROMPTS.PROBLEM"].said
    assert said == WORDING["PROMPTS.PROBLEM"].capitalize() + "."
    assert prompts.is_current("PROMPTS.PROBLEM", said)
    assert not prompts.is_current("PROMPTS.PROBLEM", said + " Ví dụ cũ.")
    assert not prompts.is_current("GONE_FROM_THE_PACK", said)
    # A recording whose words follow the text is close, whatever the case and marks.
    assert prompts.similarity("khung hoang moi truong can duoc ngan chan", said) > 0.9
    assert prompts.similarity(ELSE, said) < 0.5


def test_a_line_with_its_own_clip_is_not_merged_into_the_next_bubble() -> None:
    ack = Reply(msg.SAVED_FOR_LATER, clip=Clip(1, "/x.ogg"))
    merged = in_bubbles([ack, Reply("🏠 Menu", options=())])
    assert len(merged) == 2 and merged[0].clip is not None


# --- the dialog: hearing, being stuck, recording ------------------------------------------


def _run(state: State, *events: object, desk: MemoryDesk | None = None) -> tuple[State, str]:
    text = ""
    for event in events:
        inbound = parse_text(event) if isinstance(event, str) else event
        outcome = handle(
            state,
            inbound,  # type: ignore[arg-type]
            flow=SUBMIT,
            now=NOW,
            directory=MemoryDirectory({}),
            desk=desk or MemoryDesk(),
        )
        state = outcome.state
        text = "\n".join(
            "\n".join([r.text, *(o.label for o in r.options)]) for r in outcome.replies
        )
    return state, text


AT_PROBLEM = ["xin chào", "HN-DM01", "Nguyễn Thị Lan", "1"]


@pytest.mark.parametrize(
    "words", ["đọc cho tôi nghe", "doc cho toi nghe", "Dạ, đọc câu hỏi", "tôi không biết đọc"]
)
def test_asking_to_hear_the_questions_turns_them_on_and_tat_tieng_off(words: str) -> None:
    state, text = _run(State(), *AT_PROBLEM, words)
    assert state.hear is True and state.step is Step.PROBLEM
    assert msg.HEAR_ON in text and msg.PROMPTS[Step.PROBLEM] in text  # asked again
    state, text = _run(state, "tắt tiếng")
    assert state.hear is False and msg.HEAR_OFF in text


def test_hearing_is_on_for_a_worker_whose_first_answer_is_a_voice_note() -> None:
    spoken, _ = _run(State(), *AT_PROBLEM, VoiceIn("máy hay kẹt chỉ phải dừng máy", note_id=1))
    typed, _ = _run(State(), *AT_PROBLEM, "Máy hay kẹt chỉ, phải dừng máy")
    assert spoken.hear is True and typed.hear is False
    # Once decided it stays the worker's: a later typed answer does not turn it off.
    spoken, _ = _run(spoken, "1", "Lắp thêm đèn ở bàn kiểm hàng")
    assert spoken.hear is True


def test_the_menu_switches_hearing_on_and_off() -> None:
    state, text = _run(State(), "xin chào", "HN-DM01", "Nguyễn Thị Lan")
    assert msg.MENU_HEAR_ON in text
    state, text = _run(state, "nghe câu hỏi")
    assert state.hear is True and msg.HEAR_ON in text and msg.MENU_HEAR_OFF in text
    state, text = _run(state, "tắt đọc")
    assert state.hear is False and msg.HEAR_OFF in text


@pytest.mark.parametrize(
    "first, second",
    [
        ("không biết", "không biết"),
        ("khong nho", "không biết ạ"),
        (UnsupportedIn("sticker"), "không nhớ"),
        (VoiceIn(None, problem="silent"), UnsupportedIn("sticker")),
        (VoiceIn("không biết"), VoiceIn(None, problem="empty")),
    ],
    ids=["twice", "no-marks", "sticker", "silent-note", "spoken"],
)
def test_the_second_answer_that_says_nothing_offers_help(first: object, second: object) -> None:
    state, text = _run(State(), *AT_PROBLEM, first)
    assert state.step is Step.PROBLEM and msg.STUCK not in text  # the first: the example
    state, text = _run(state, second)
    assert state.step is Step.STUCK
    assert msg.STUCK in text
    for label in (msg.STUCK_EXAMPLE, msg.SUMMARY_LATER, msg.STUCK_OFFICER):
        assert label in text


def test_help_is_offered_again_only_after_two_more_and_each_choice_does_what_it_says() -> None:
    stuck, _ = _run(State(), *AT_PROBLEM, "không biết", "không biết")
    again, text = _run(stuck, "1")  # hear or read the example again
    assert again.step is Step.PROBLEM and msg.HELP[Step.PROBLEM] in text
    assert msg.PROMPTS[Step.PROBLEM] in text
    again, text = _run(again, "không biết")
    assert again.step is Step.PROBLEM  # one more «không biết» is not yet two
    later, text = _run(stuck, "để sau")
    assert later.step is Step.MENU and msg.SAVED_FOR_LATER in text
    assert later.draft is not None  # kept
    desk = MemoryDesk()
    helped, text = _run(stuck, "3", desk=desk)
    assert helped.step is Step.MENU and msg.HELP_ASKED in text
    assert desk.helped == [msg.STEP_TITLES[Step.PROBLEM]]


def test_an_answer_in_words_after_one_khong_biet_goes_on_as_usual() -> None:
    state, _ = _run(State(), *AT_PROBLEM, "không biết", "Máy hay kẹt chỉ, phải dừng máy")
    assert state.step is Step.SOLUTION and state.stuck == 0


def test_recording_goes_message_by_message_with_its_progress() -> None:
    desk = MemoryDesk()
    total = len(prompts.pack())
    state, text = _run(State(), "xin chào", "HN-DM01", "Nguyễn Văn Hùng", "/ghiam", desk=desk)
    assert state.step is Step.RECORD and f"1/{total}" in text
    assert prompts.pack()["WELCOME"].said in text
    welcome = prompts.pack()["WELCOME"].said
    state, text = _run(state, VoiceIn(welcome.lower(), note_id=7), desk=desk)
    assert desk.clips[0][:3] == ("HN", "WELCOME", 7)
    assert msg.RECORD_KEPT.format(number=1) in text and f"2/{total}" in text
    state, text = _run(state, "bỏ qua", desk=desk)  # skipped: not kept
    assert f"3/{total}" in text and len(desk.clips) == 1
    state, text = _run(state, VoiceIn(ELSE, note_id=8), desk=desk)
    assert state.step is Step.RECORD_CHECK and ELSE in text and "khác câu chữ" in text
    state, text = _run(state, "ghi lại", desk=desk)
    assert state.step is Step.RECORD and f"3/{total}" in text and len(desk.clips) == 1
    state, text = _run(state, VoiceIn(ELSE, note_id=9), "vẫn lưu", desk=desk)
    assert desk.clips[-1][:3] == ("HN", prompts.NAMES[2], 9)
    assert f"4/{total}" in text
    state, text = _run(state, "Trước đây khó khăn là gì", desk=desk)  # typed, not said
    assert state.step is Step.RECORD and msg.RECORD_NEED_VOICE in text
    state, text = _run(state, "dừng", desk=desk)
    assert state.step is Step.MENU and "4/40" in text
    # Coming back goes on from the first message the unit has no clip of.
    state, text = _run(state, "/ghiam", desk=desk)
    assert f"2/{total}" in text
    state, text = _run(state, "/ghiam 12", desk=desk)
    assert f"12/{total}" in text and state.record is not None and state.record.one
    state, text = _run(state, "/ghiam 99", desk=desk)
    assert msg.RECORD_NO_SUCH.format(ask="99", total=total) in text


def test_only_officers_record() -> None:
    class Worker(MemoryDesk):
        def officer_units(self):  # type: ignore[no-untyped-def]
            return []

    state, text = _run(State(), *AT_PROBLEM[:3], "/ghiam", desk=Worker())
    assert msg.OFFICERS_ONLY in text and state.step is Step.MENU


# --- end to end: Telegram ------------------------------------------------------------------


async def _said_again(user: TelegramUser | ZaloUser, fragment: str, seconds: float = 60) -> None:
    """Wait for one more message containing `fragment` than there was when called."""
    seen = user.said().count(fragment)
    deadline = asyncio.get_running_loop().time() + seconds
    while user.said().count(fragment) <= seen:
        assert asyncio.get_running_loop().time() < deadline, f"never said {fragment!r} again"
        await asyncio.sleep(0.02)


async def _then(user: TelegramUser | ZaloUser, act: object, fragment: str) -> None:
    seen = user.said().count(fragment)
    if isinstance(act, int) and isinstance(user, TelegramUser):
        user.press(act)
    elif isinstance(act, bytes):
        user.voice(act)
    else:
        user.send(str(act))
    deadline = asyncio.get_running_loop().time() + 60
    while user.said().count(fragment) <= seen:
        assert asyncio.get_running_loop().time() < deadline, f"never said {fragment!r} again"
        await asyncio.sleep(0.02)


async def _officer(user: TelegramUser | ZaloUser, db: Engine, unit: str) -> None:
    code = ReviewService(Database(db), ()).invite(unit, expires=dt.timedelta(days=1)).code
    await _then(user, f"/canbo {code}", "cán bộ công đoàn của")
    await _then(user, "Trần Văn Hùng", "muốn làm gì")


def _voice_before(fake: FakeTelegram, chat: int, fragment: str) -> bool:
    """Whether the last message containing `fragment` came right after a voice message."""
    sent = fake.sent[str(chat)]
    at = max(n for n, m in enumerate(sent) if fragment in m.get("text", ""))
    return at > 0 and "voice" in sent[at - 1]


async def test_an_officer_records_and_a_worker_who_asks_hears_the_questions_on_telegram(
    db: Engine, tmp_path: Path, union_wording: dict[str, str]
) -> None:
    voice = VoiceInbox(VoiceSettings(), tmp_path)
    packs = PromptPacks(Database(db), tmp_path)
    with closing(voice), closing(dispatcher_for(db, voice, packs=packs)) as dispatcher:
        async with on_telegram(dispatcher) as (fake, channel):

            async def uploaded(clip_id: int, file_id: str) -> None:  # as the runtime wires it
                await asyncio.to_thread(packs.remember, clip_id, file_id)

            channel.on_clip_uploaded = uploaded
            officer = TelegramUser(fake, 5151, name="Hùng")
            await _officer(officer, db, "HN")  # the city federation: its pack is HN's

            # Three questions, by number; the second first read from the wrong page.
            await _then(officer, "/ghiam 4", "4/40")
            assert union_wording["PROMPTS.PROBLEM"] in officer.said().lower()
            await _then(officer, _note(WORDING["PROMPTS.PROBLEM"]), "Đã lưu câu 4")
            await _then(officer, "/ghiam 5", "5/40")
            await _then(officer, _note(ELSE), "khác câu chữ")
            assert "Tôi nghe được «Mấy sào ruộng của gia đình ông" in officer.said()
            await _then(officer, 2, "5/40")  # 🎙️ Ghi lại
            await _then(officer, _note(WORDING["PROMPTS.SOLUTION"]), "Đã lưu câu 5")
            await _then(officer, "/ghiam 7", "7/40")
            await _then(officer, _note(WORDING["BENEFIT_DETAIL_PROMPTS.TIME"]), "Đã lưu câu 7")
            clips = _clips(db)
            assert [(unit, key) for unit, key, _, _ in clips] == [
                ("HN", "BENEFIT_DETAIL_PROMPTS.TIME"),
                ("HN", "PROMPTS.PROBLEM"),
                ("HN", "PROMPTS.SOLUTION"),
            ]
            assert all(score is not None and score >= 0.7 for _, _, score, _ in clips)

            # A worker of HN-DM01 (no clips of its own) who cannot read asks to hear them.
            worker = TelegramUser(fake, 4242, name="Lan")
            await _then(worker, "/start HN-DM01", "tên là gì")
            await _then(worker, "Nguyễn Thị Lan", "muốn làm gì")
            await _then(worker, "đọc cho tôi nghe", "muốn làm gì")
            assert msg.HEAR_ON in worker.said()
            await _then(worker, 1, msg.PROMPTS[Step.PROBLEM])
            assert _voice_before(fake, 4242, msg.PROMPTS[Step.PROBLEM])
            await _then(worker, "Máy hay kẹt chỉ, phải dừng máy", msg.PROMPTS[Step.SOLUTION])
            assert _voice_before(fake, 4242, msg.PROMPTS[Step.SOLUTION])
            await _then(worker, "quay lại", msg.PROMPTS[Step.PROBLEM])  # heard once more
            assert _voice_before(fake, 4242, msg.PROMPTS[Step.PROBLEM])
            assert fake.voices.count(("4242", "upload")) == 2  # each clip uploaded once
            assert fake.voices.count(("4242", "file_id")) == 1
            await _then(worker, "Máy hay kẹt chỉ, phải dừng máy", msg.PROMPTS[Step.SOLUTION])
            await _then(worker, "Lắp thêm đèn ở bàn kiểm hàng", "được lợi gì nhất")
            assert not _voice_before(fake, 4242, "được lợi gì nhất")  # not recorded: text
            await _then(worker, 1, msg.BENEFIT_DETAIL_PROMPTS[BenefitKind.TIME])
            assert _voice_before(fake, 4242, msg.BENEFIT_DETAIL_PROMPTS[BenefitKind.TIME])

            # Telegram's ids are kept: the next worker gets every clip by id.
            assert all(file_id for *_, file_id in _clips(db)[1:])
            other = TelegramUser(fake, 4343, name="Mai")
            for act, expect in [
                ("/start HN-DM01", "tên là gì"),
                ("Lê Thị Mai", "muốn làm gì"),
                ("doc cho toi nghe", "muốn làm gì"),
                (1, msg.PROMPTS[Step.PROBLEM]),
            ]:
                await _then(other, act, expect)
            assert _voice_before(fake, 4343, msg.PROMPTS[Step.PROBLEM])
            assert fake.voices.count(("4343", "file_id")) == 1
            assert ("4343", "upload") not in fake.voices
            # A worker who never asked (and types) reads text only.
            reader = TelegramUser(fake, 4444, name="Tư")
            for act, expect in [
                ("/start HN-DM01", "tên là gì"),
                ("Phạm Văn Tư", "muốn làm gì"),
                (1, msg.PROMPTS[Step.PROBLEM]),
            ]:
                await _then(reader, act, expect)
            assert not _voice_before(fake, 4444, msg.PROMPTS[Step.PROBLEM])


async def test_a_stuck_worker_on_telegram_hears_the_example_or_gets_an_officer(
    db: Engine,
) -> None:
    with closing(dispatcher_for(db)) as dispatcher:
        async with on_telegram(dispatcher) as (fake, channel):
            officer = TelegramUser(fake, 5151, name="Hùng")
            await _officer(officer, db, "HN-DM01")
            worker = TelegramUser(fake, 4242, name="Lan")
            for act, expect in [
                ("/start HN-DM01", "tên là gì"),
                ("Nguyễn Thị Lan", "muốn làm gì"),
                (1, "khó khăn"),
            ]:
                await _then(worker, act, expect)
            worker.send_content(sticker=STICKER)
            await _said_again(worker, "khó khăn")
            await _then(worker, "không nhớ", msg.STUCK)
            await _then(worker, 1, msg.HELP[Step.PROBLEM])  # 🔁 the example again
            await _then(worker, "không biết", "Kể bằng vài chữ")
            await _then(worker, "khong biet", msg.STUCK)
            await _then(worker, 3, msg.HELP_ASKED)  # 🙋 Nhờ cán bộ giúp
            await dispatcher.flush(channel)  # the notice, due at once
            await officer.wait_for("Lan (CĐCS Công ty CP May Đức Giang) cần giúp")
            assert "Nhập hộ công nhân" in officer.said()


# --- end to end: Zalo ---------------------------------------------------------------------


async def test_a_stuck_worker_on_zalo_gets_an_officer_and_clips_are_links(
    db: Engine, tmp_path: Path
) -> None:
    packs = PromptPacks(Database(db), tmp_path)
    with Database(db).write() as connection:  # the district's own clip of the question
        unit = Unit.__table__  # type: ignore[attr-defined]
        district = connection.execute(select(unit.c.id).where(unit.c.code == "HN-LB")).scalar_one()
        packs.store(
            connection,
            unit_id=district,
            key="PROMPTS.PROBLEM",
            data=wav_bytes(samples(recording("vivos", ELSE))),
            heard="",
            score=None,
            recorder="import: test",
        )
    clip_app = create_app(clips=packs.folder)
    async with served_here(clip_app) as base:
        dispatcher = dispatcher_for(db, packs=packs, clip_channels=frozenset({"zalo"}))
        with closing(dispatcher):
            async with on_zalo(dispatcher, clips_url=f"{base}/clips") as (fake, zalo):
                officer = ZaloUser(fake, "zofficer", "Hùng")
                await _officer(officer, db, "HN-DM01")
                worker = ZaloUser(fake, "zworker", "Lan")
                for act, expect in [
                    ("/start HN-DM01", "tên là gì"),
                    ("Nguyễn Thị Lan", "muốn làm gì"),
                    ("doc cho toi nghe", "muốn làm gì"),
                    ("1", "khó khăn"),
                ]:
                    await _then(worker, act, expect)
                question = worker.texts()[-1]
                assert msg.CLIP_LINK.split("{")[0] in question
                link = question.rsplit(" ", 1)[-1]
                async with httpx.AsyncClient() as client:
                    got = await client.get(link)
                assert got.status_code == 200 and got.content.startswith(b"OggS")
                assert got.headers["content-type"] == "audio/ogg"
                await _then(worker, "không biết", "Kể bằng vài chữ")
                await _then(worker, "không biết ạ", msg.STUCK)
                assert "3. 🙋 Nhờ cán bộ giúp" in worker.said()
                await _then(worker, "nhờ cán bộ", msg.HELP_ASKED)
                await dispatcher.flush(zalo)
                await officer.wait_for("cần giúp ở câu «⚠️ Khó khăn trước đây»")


# --- the command line ----------------------------------------------------------------------


def test_importing_a_folder_of_wav_and_mp3_reports_what_is_missing_and_status_shows_it(
    db: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{db_url}"\ndata_dir = "{tmp_path}"\n')
    folder = tmp_path / "pack"
    folder.mkdir()
    speech = samples(recording("vivos", ELSE))
    (folder / "PROMPTS.PROBLEM.wav").write_bytes(wav_bytes(speech))
    (folder / "prompts.solution.mp3").write_bytes(encode(speech, "mp3"))
    (folder / "loi-chao.wav").write_bytes(wav_bytes(speech))  # not a message's name
    (folder / "HELP.PROBLEM.wav").write_bytes(b"RIFF not really a wave")
    (folder / "WELCOME.wav").write_bytes(wav_bytes(speech * 0))  # silence
    (folder / "notes.txt").write_text("ignored")
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--config", str(config), "voice", "prompts", "import", str(folder), "--unit", "hn-dm01"],
    )
    out = result.output
    assert result.exit_code == 1, out  # unreadable files
    assert "HN-DM01: 2 clips kept, 2/40 covered" in out
    assert "unknown\tloi-chao.wav" in out
    assert "unreadable\tHELP.PROBLEM.wav" in out and "unreadable\tWELCOME.wav" in out
    assert "missing\tWELCOME" in out and "missing\tPROMPTS.PROBLEM\n" not in out
    assert "mismatched\tPROMPTS.PROBLEM" in out  # it says something else
    assert "Traceback" not in out

    status = runner.invoke(app, ["--config", str(config), "voice", "prompts", "status"])
    assert status.exit_code == 0 and "HN-DM01\t2/40" in status.output
    one = runner.invoke(
        app, ["--config", str(config), "voice", "prompts", "status", "--unit", "HN-DM01"]
    )
    assert "missing\t1\tWELCOME" in one.output

    out_dir = tmp_path / "out"
    exported = runner.invoke(
        app,
        [
            "--config",
            str(config),
            "voice",
            "prompts",
            "export",
            "--unit",
            "HN-DM01",
            "--out",
            str(out_dir),
        ],
    )
    assert exported.exit_code == 0 and "2 clips written" in exported.output
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "PROMPTS.PROBLEM.ogg",
        "PROMPTS.SOLUTION.ogg",
    ]
    assert (out_dir / "PROMPTS.PROBLEM.ogg").read_bytes().startswith(b"OggS")

    # The union rewords a question: its clip is stale, listed, and never played.
    monkeypatch.setitem(msg.PROMPTS, Step.PROBLEM, "⚠️ Việc gì làm anh/chị mất thời gian?")
    _forget_pack()
    try:
        status = runner.invoke(app, ["--config", str(config), "voice", "prompts", "status"])
        assert "HN-DM01\t1/40" in status.output and "stale\tPROMPTS.PROBLEM" in status.output
        packs = PromptPacks(Database(db), tmp_path)
        with Database(db).write() as connection:
            replies = packs.with_clips(
                connection,
                "HN-DM01",
                prompts.tag([Reply(msg.PROMPTS[Step.PROBLEM]), Reply(msg.PROMPTS[Step.SOLUTION])]),
            )
        assert replies[0].clip is None and replies[1].clip is not None
    finally:
        monkeypatch.undo()
        _forget_pack()


def test_a_zip_imports_like_a_folder_and_bad_sources_get_one_line(
    db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{db_url}"\ndata_dir = "{tmp_path}"\n')
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("goi/PROMPTS.FIELD.wav", wav_bytes(samples(recording("vivos", ELSE))))
    runner = CliRunner()
    base = ["--config", str(config), "voice", "prompts"]
    result = runner.invoke(app, [*base, "import", str(archive), "--unit", "HN", "--no-check"])
    assert result.exit_code == 0, result.output
    assert "HN: 1 clips kept, 1/40 covered" in result.output
    for source, unit, said in [
        (tmp_path / "nowhere", "HN", "no such folder or file"),
        (tmp_path / "config.toml", "HN", "not a folder or a ZIP file"),
        (archive, "XX-99", "no unit with code 'XX-99'"),
    ]:
        bad = runner.invoke(app, [*base, "import", str(source), "--unit", unit, "--no-check"])
        assert bad.exit_code == 2 and said in bad.output and "Traceback" not in bad.output
    shutil.rmtree(tmp_path / "prompts")  # clips gone from disk: export says so, plays text
    gone = runner.invoke(app, [*base, "export", "--unit", "HN", "--out", str(tmp_path / "o")])
    assert gone.exit_code == 0 and "0 clips written" in gone.output


def test_the_nearest_units_clip_is_played_and_recording_again_replaces_it(
    db: Engine, tmp_path: Path
) -> None:
    packs = PromptPacks(Database(db), tmp_path)
    speech = wav_bytes(samples(recording("vivos", ELSE)))
    with Database(db).write() as connection:
        unit = Unit.__table__  # type: ignore[attr-defined]
        ids: dict[str, int] = dict(connection.execute(select(unit.c.code, unit.c.id)).all())
        for code in ("VN", "HN", "HN-DM01"):
            packs.store(
                connection,
                unit_id=ids[code],
                key="PROMPTS.PROBLEM",
                data=speech,
                heard="",
                score=None,
                recorder=code,
            )
        packs.store(
            connection,
            unit_id=ids["VN"],
            key="PROMPTS.SOLUTION",
            data=speech,
            heard="",
            score=None,
            recorder="VN",
        )
    asked = prompts.tag([Reply(msg.PROMPTS[Step.PROBLEM]), Reply(msg.PROMPTS[Step.SOLUTION])])
    with Database(db).write() as connection:
        own = packs.with_clips(connection, "HN-DM01", asked)
        other = packs.with_clips(connection, "HN-CK02", asked)
        elsewhere = packs.with_clips(connection, "BN-DT01", asked)
    paths = {p.name for p in packs.folder.iterdir()}
    assert len(paths) == 4  # one file a clip
    assert own[0].clip and other[0].clip and elsewhere[0].clip
    assert own[0].clip.id != other[0].clip.id != elsewhere[0].clip.id  # grassroots, HN, VN
    assert own[1].clip == other[1].clip == elsewhere[1].clip  # only the national one
    # Recording it again replaces the clip and its file.
    with Database(db).write() as connection:
        packs.store(
            connection,
            unit_id=ids["VN"],
            key="PROMPTS.SOLUTION",
            data=speech,
            heard="",
            score=None,
            recorder="VN again",
        )
    assert len(list(packs.folder.iterdir())) == 4


async def test_a_clip_id_telegram_refuses_is_uploaded_again_and_a_gone_file_leaves_text(
    tmp_path: Path,
) -> None:
    clip_file = tmp_path / "clip.ogg"
    clip_file.write_bytes(encode(samples(recording("vivos", ELSE)), "ogg"))
    fake = FakeTelegram()
    fake.server.start()
    channel = TelegramChannel(
        fake.token, Recorder(), base_url=fake.base_url, polling=False, chat_per_second=None
    )
    remembered: list[tuple[int, str]] = []

    async def uploaded(clip_id: int, file_id: str) -> None:
        remembered.append((clip_id, file_id))

    channel.on_clip_uploaded = uploaded
    await channel.start()
    try:
        stale = Reply("⚠️ Câu hỏi", clip=Clip(3, str(clip_file), ref="voice-from-another-bot"))
        await channel.send("77", stale)
        assert fake.voices == [("77", "upload")] and remembered[0][0] == 3
        await channel.send("77", stale)  # the id it got back is used from now on
        assert fake.voices[-1] == ("77", "file_id")
        gone = Reply("⚠️ Câu khác", clip=Clip(4, str(tmp_path / "gone.ogg")))
        await channel.send("77", gone)
        assert fake.texts("77")[-1] == "⚠️ Câu khác" and len(fake.voices) == 2
    finally:
        await channel.stop()
        fake.server.stop()
