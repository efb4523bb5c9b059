"""Speaking instead of writing, end to end through the terminal channel with real recordings."""

from __future__ import annotations

import asyncio
import http.server
import io
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.channels.terminal import TerminalChannel
from bot.services.voice import VoiceInbox
from bot.settings import VoiceSettings
from nlp.audio import Audio
from nlp.vosk_models import ModelInstallError, install_model
from storage.models import Initiative, VoiceNote
from tests.utils.audio import (
    FORMATS,
    SPEECH,
    encode,
    recording,
    samples,
    tone,
    transcripts,
    wav_bytes,
)
from tests.utils.chat import FakeClock, dispatcher_for

YES = recording("diadiem", "đúng")
NO = recording("diadiem", "không")
BACK = SPEECH / "diadiem" / "TROWRLAJI002.wav"  # "trở lại", heard as said
BACK_MISHEARD = SPEECH / "diadiem" / "TROWRLAJI001.wav"  # "trở lại", heard as "chạy lại"


class Terminal:
    """The terminal channel as a worker uses it; `screen` is what the last line printed."""

    def __init__(self, db: Engine, voice: VoiceInbox, runner: asyncio.Runner) -> None:
        self._printed: list[str] = []
        self.dispatcher = dispatcher_for(db, voice, FakeClock())
        self.chat = TerminalChannel(
            self.dispatcher, "lan", self._printed.append, max_voice_bytes=20_000_000
        )
        self._runner = runner
        self.screen = ""

    def say(self, line: str) -> str:
        self._printed.clear()
        self._runner.run(self.chat.send_line(line))
        self.screen = "".join(self._printed)
        return self.screen


@pytest.fixture
def voice_inbox(tmp_path: Path) -> Iterator[VoiceInbox]:
    inbox = VoiceInbox(VoiceSettings(), tmp_path / "data")
    yield inbox
    inbox.close()


@pytest.fixture
def terminal(db: Engine, voice_inbox: VoiceInbox) -> Iterator[Terminal]:
    with asyncio.Runner() as runner:
        term = Terminal(db, voice_inbox, runner)
        term.say("/start HN-DM01")
        term.say("Nguyễn Thị Lan")
        yield term
        term.dispatcher.close()


def _note(tmp_path: Path, corpus: str, text: str, fmt: str = "ogg") -> Path:
    path = tmp_path / f"{abs(hash(text))}.{fmt}"
    path.write_bytes(encode(samples(recording(corpus, text)), fmt))
    return path


def test_a_submission_spoken_answer_by_answer(
    terminal: Terminal, tmp_path: Path, db: Engine
) -> None:
    problem = "khủng hoảng môi trường cần được ngăn chặn"
    solution = "trong số các quốc gia công nghiệp phát triển"
    terminal.say("/press 1")
    screen = terminal.say(f"/voice {_note(tmp_path, 'vivos', problem)}")
    assert "🎤 Tôi nghe được: «Khủng hoảng môi trường cần được ngăn chặn.»" in screen
    assert "✅ Đúng" in screen and "Nói lại" in screen and "Gõ lại" in screen
    screen = terminal.say(f"/voice {YES}")  # "đúng", said
    assert "đã thay đổi gì" in screen
    terminal.say(f"/voice {_note(tmp_path, 'vivos', solution, 'aac')}")
    terminal.say(f"/voice {YES}")
    terminal.say("/press 3")  # safety: no recording of a spoken number exists in the corpus
    terminal.say(f"/voice {_note(tmp_path, 'vivos', 'khách sạn', 'm4a')}")
    terminal.say(f"/voice {YES}")
    terminal.say("/press 2")
    screen = terminal.say(f"/voice {NO}")  # applied? "không": not yet
    assert "Có ai cùng làm" in screen
    screen = terminal.say(f"/voice {NO}")  # co-authors? "không": nobody
    assert "Xem lại sáng kiến" in screen
    screen = terminal.say(f"/voice {YES}")  # send? "đúng"
    assert "🎉 Cảm ơn Lan!" in screen
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
        notes = session.exec(select(VoiceNote).order_by(col(VoiceNote.id))).all()
    assert idea.status == "submitted"
    assert idea.problem == "Khủng hoảng môi trường cần được ngăn chặn."
    assert idea.solution == "Trong số các quốc gia công nghiệp phát triển."
    assert idea.benefit_detail == "Khách sạn."
    assert (idea.applied, idea.co_authors) == (False, "")
    assert idea.sources == {"problem": "voice", "solution": "voice", "benefit_detail": "voice"}
    linked = {note.field: note for note in notes if note.initiative_id == idea.id}
    assert set(linked) == {"problem", "solution", "benefit_detail"}
    assert linked["problem"].engine == "viet-asr"
    assert linked["problem"].raw_text == problem
    assert Path(linked["problem"].path).read_bytes()[:4] == b"OggS"  # the original, kept


def test_say_again_and_type_instead(terminal: Terminal, tmp_path: Path, db: Engine) -> None:
    terminal.say("/press 1")
    terminal.say(f"/voice {_note(tmp_path, 'vivos', 'khách sạn')}")
    screen = terminal.say("/press 2")
    assert "nói lại" in screen.lower()
    terminal.say(f"/voice {_note(tmp_path, 'vivos', 'khách sạn')}")
    screen = terminal.say("3")  # typed number on a channel without buttons: "Gõ lại"
    assert "gõ câu trả lời" in screen
    screen = terminal.say("Phòng nghỉ ca quá nóng")
    assert "đã thay đổi gì" in screen
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    assert idea.problem == "Phòng nghỉ ca quá nóng" and idea.sources == {"problem": "typed"}


def test_spoken_back_works_like_typed_back(terminal: Terminal, tmp_path: Path) -> None:
    terminal.say("/press 1")
    terminal.say("Phòng nghỉ ca quá nóng")
    screen = terminal.say(f"/voice {BACK_MISHEARD}")
    assert "Tôi nghe được: «Chạy lại.»" in screen  # not understood: read back, not acted on
    screen = terminal.say(f"/voice {BACK}")  # "trở lại"
    assert "khó khăn hay lãng phí" in screen


def test_a_whole_idea_in_one_long_note(terminal: Terminal, tmp_path: Path, db: Engine) -> None:
    said = list(transcripts("vivos").items())[1:9]
    pcm = np.concatenate([samples(SPEECH / "vivos" / name) for name, _ in said])
    assert len(pcm) / 16_000 > 20
    story = tmp_path / "story.ogg"
    story.write_bytes(encode(pcm, "ogg"))
    terminal.say("/press 1")
    screen = terminal.say(f"/voice {story}")
    assert "🎧 Đang nghe…" in screen
    assert "Tôi nghe được" in screen
    screen = terminal.say("1")
    assert "Tôi đã ghi lại cả câu chuyện" in screen
    assert "đã thay đổi gì" in screen
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
    assert idea.problem is not None and len(idea.problem.split()) >= 40


@pytest.mark.parametrize(
    ("data", "reply"),
    [
        (b"", "Ghi âm trống"),
        (b"not audio at all" * 50, "không mở được ghi âm"),
        (wav_bytes(np.zeros(32_000, np.int16)), "không có tiếng"),
        (encode(tone(301, amplitude=3000), "aac"), "nói ngắn hơn 5 phút"),
    ],
    ids=["empty", "corrupt", "silent", "too-long"],
)
def test_bad_notes_get_a_short_reply_and_the_draft_is_untouched(
    terminal: Terminal, tmp_path: Path, db: Engine, data: bytes, reply: str
) -> None:
    terminal.say("/press 1")
    terminal.say("Phòng nghỉ ca quá nóng")
    note = tmp_path / "bad.ogg"
    note.write_bytes(data)
    screen = terminal.say(f"/voice {note}")
    assert reply in screen
    assert "đã thay đổi gì" in screen  # asked again, nothing lost
    with Session(db) as session:
        idea = session.exec(select(Initiative)).one()
        assert session.exec(select(VoiceNote)).all() == []
    assert idea.problem == "Phòng nghỉ ca quá nóng" and idea.solution is None


def test_voice_transcribe_prints_file_and_normalised_text(tmp_path: Path) -> None:
    import subprocess

    note = tmp_path / "note.aac"
    note.write_bytes(encode(samples(recording("vivos", "khách sạn")), "aac"))
    result = subprocess.run(
        ["sangkien", "voice", "transcribe", str(note), "--engine", "viet-asr"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{note}\tKhách sạn.\n"


def test_all_formats_are_heard(voice_inbox: VoiceInbox) -> None:
    pcm = samples(recording("vivos", "khách sạn"))
    heard = {fmt: voice_inbox.transcribe(encode(pcm, fmt)).text for fmt in FORMATS}
    assert set(heard.values()) == {"Khách sạn."}, heard


# --- installing a vosk model ----------------------------------------------------------------


def _model_zip(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for member in members:
            bundle.writestr(member, "x")
    return buffer.getvalue()


@pytest.fixture
def model_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local HTTP server standing in for the vosk model site; tests fill `files`."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files
    server.shutdown()
    server.server_close()


def _publish(base: str, files: dict[str, bytes], archive: bytes, md5: str | None = None) -> str:
    import hashlib
    import json

    files["/models/vosk-model-small-vn-0.4.zip"] = archive
    entry = {
        "name": "vosk-model-small-vn-0.4",
        "lang": "vn",
        "url": f"{base}/models/vosk-model-small-vn-0.4.zip",
        "md5": md5 if md5 is not None else hashlib.md5(archive).hexdigest(),
    }
    files["/models/model-list.json"] = json.dumps([entry]).encode()
    return f"{base}/models/model-list.json"


def test_install_model_verifies_and_unpacks(
    model_server: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    import hashlib

    base, files = model_server
    archive = _model_zip(
        "vosk-model-small-vn-0.4/am/final.mdl", "vosk-model-small-vn-0.4/conf/model.conf"
    )
    list_url = _publish(base, files, archive)
    installed = install_model(
        "vosk-model-small-vn-0.4",
        list_url=list_url,
        models_dir=tmp_path,
        sha256=hashlib.sha256(archive).hexdigest(),
    )
    assert installed.path == tmp_path / "vosk-model-small-vn-0.4"
    assert (installed.path / "am" / "final.mdl").is_file()
    assert installed.sha256 == hashlib.sha256(archive).hexdigest()


def test_install_model_refuses_bad_checksums_and_escapes(
    model_server: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, files = model_server
    good = _model_zip("m/am/final.mdl")
    with pytest.raises(ModelInstallError, match="MD5"):
        install_model(
            "vosk-model-small-vn-0.4",
            list_url=_publish(base, files, good, "0" * 32),
            models_dir=tmp_path,
        )
    with pytest.raises(ModelInstallError, match="SHA-256"):
        install_model(
            "vosk-model-small-vn-0.4",
            list_url=_publish(base, files, good),
            models_dir=tmp_path,
            sha256="ab" * 32,
        )
    with pytest.raises(ModelInstallError, match="escapes"):
        install_model(
            "vosk-model-small-vn-0.4",
            list_url=_publish(base, files, _model_zip("../../evil.txt")),
            models_dir=tmp_path,
        )
    with pytest.raises(ModelInstallError, match="Vietnamese models"):
        install_model("vosk-model-xx", list_url=_publish(base, files, good), models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-installed is left behind
    assert not (tmp_path.parent / "evil.txt").exists()


def test_install_model_command(model_server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    import subprocess

    base, files = model_server
    list_url = _publish(base, files, _model_zip("vosk-model-small-vn-0.4/am/final.mdl"))
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[voice]\nmodel_list_url = "{list_url}"\n')
    result = subprocess.run(
        ["sangkien", "--config", str(config), "voice", "install-model", "vosk-model-small-vn-0.4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "models" / "vosk-model-small-vn-0.4" / "am" / "final.mdl").is_file()
    assert "sha256" in result.stdout and "vosk_model_path" in result.stdout


@pytest.mark.parametrize("path", ["a\x00b.ogg", "/dev/zero", "/nonexistent/note.ogg", "/tmp"])
def test_a_voice_path_that_is_no_file_gets_a_kind_reply(terminal: Terminal, path: str) -> None:
    screen = terminal.say(f"/voice {path}")
    assert "Không mở được tệp ghi âm" in screen


def test_install_model_without_a_network_says_how_to_install_by_hand(tmp_path: Path) -> None:
    with pytest.raises(ModelInstallError, match=r"could not reach .*vosk_model_path"):
        install_model(
            "vosk-model-small-vn-0.4",
            list_url="http://127.0.0.1:1/model-list.json",
            models_dir=tmp_path,
        )


async def test_notes_arriving_together_are_heard_a_few_at_a_time_first_come_first_done(
    tmp_path: Path,
) -> None:
    """Forty notes came at once after a restart (the soak): each stage of every note queued
    behind the same stage of all the others, so none was done before almost all the work
    was, and a process killed every few seconds finished none. Now a few notes are heard at
    a time, in the order they came: the first is done after its own work, not everyone's."""
    from nlp.asr import Recognition

    events: list[tuple[str, int]] = []

    class Slow:
        name = "slow"

        def recognise(self, chunks: Iterable[bytes]) -> Recognition:
            for _ in chunks:
                pass
            time.sleep(0.05)
            return Recognition("khách sạn", (), "slow")

    inbox = VoiceInbox(VoiceSettings(keep_audio=False), tmp_path, engine=Slow())
    data = encode(samples(recording("vivos", "khách sạn")), "ogg")
    notes = [bytes(bytearray(data)) for _ in range(12)]  # one object each: told apart by id
    number = {id(note): n for n, note in enumerate(notes)}
    decode = inbox.decode

    def decoding(note: bytes) -> Audio:
        events.append(("start", number[id(note)]))
        return decode(note)

    inbox.decode = decoding  # type: ignore[method-assign,assignment]

    async def hear(note: bytes) -> None:
        await inbox.areceive(note, "ogg")
        events.append(("done", number[id(note)]))

    try:
        await asyncio.gather(*(hear(note) for note in notes))
    finally:
        inbox.close()
    first_done = events.index(("done", 0))
    started_before = {n for kind, n in events[:first_done] if kind == "start"}
    assert len(started_before) <= 6, events  # 4 at a time; 2 more as 2 others were done
    done = [n for kind, n in events if kind == "done"]
    assert set(done[:4]) <= set(range(6)), events  # about in the order they came
