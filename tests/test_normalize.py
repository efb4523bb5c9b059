"""Normalising transcripts, and keeping our logging intact while underthesea loads."""

from __future__ import annotations

import logging
import subprocess
import sys
import unicodedata

import pytest

from nlp.normalize import normalize_transcript, standard_spelling


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("máy cắt hay kẹt vải", "Máy cắt hay kẹt vải."),
        ("  tiết kiệm   ba mươi phút mỗi ca ", "Tiết kiệm 30 phút mỗi ca."),
        ("thuỷ lợi hoà bình", "Thủy lợi hòa bình."),
        (unicodedata.normalize("NFD", "làm lợi ba triệu rưỡi đồng"), "Làm lợi 3.500.000 đồng."),
        ("giảm mười phần trăm hàng lỗi", "Giảm 10% hàng lỗi."),
        ("một số công nhân làm ca ba", "Một số công nhân làm ca ba."),
        ("xong rồi!", "Xong rồi!"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_transcript(raw: str, clean: str) -> None:
    result = normalize_transcript(raw)
    assert result == clean
    assert unicodedata.is_normalized("NFC", result)


def test_punctuation_stays_attached() -> None:
    assert standard_spelling("Máy cắt hay kẹt vải.Mỗi ca dừng (ba lần) !") == (
        "Máy cắt hay kẹt vải. Mỗi ca dừng (ba lần)!"
    )


def test_loading_underthesea_keeps_our_logging() -> None:
    program = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.ERROR, stream=sys.stderr, format='OURS %(message)s')\n"
        "root = logging.getLogger(); before = (list(root.handlers), root.level)\n"
        "from nlp.normalize import normalize_transcript\n"
        "print(normalize_transcript('hoà bình'))\n"
        "assert (list(root.handlers), root.level) == before, (root.handlers, root.level)\n"
        "assert not logging.getLogger('underthesea').handlers\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hòa bình.\n"


def test_root_logger_untouched_in_process() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    normalize_transcript("thuỷ")
    assert (list(root.handlers), root.level) == before
