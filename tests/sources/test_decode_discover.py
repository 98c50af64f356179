"""Edge cases of the two modules that meet hostile bytes and hostile folders first (pure, fast)."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from tasks.models import FileRef, Reason, Rejection
from tasks.parse.decode import Decoded, decode_bytes
from tasks.sources.discover import read_file, scan

RUSSIAN = "Правительство объявило о новых мерах поддержки экономики и малого бизнеса в регионах страны."
JAPANESE = "東京都は来年度の予算案を発表し、子育て支援と防災対策に重点を置く方針を示した。"
CHINESE = "国家统计局今天发布数据显示，今年前三季度国内生产总值同比增长，消费市场持续恢复。"
FRENCH = "Le conseil municipal a approuvé le budget de la nouvelle école après un long débat mardi soir."
ENGLISH = "The council approved the budget for the new school after a long debate on Tuesday evening."


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", Reason.EMPTY),
        (b" \t\r\n  \n", Reason.EMPTY),
        (codecs.BOM_UTF8, Reason.EMPTY),
        (codecs.BOM_UTF16_LE, Reason.EMPTY),
        (codecs.BOM_UTF16_BE + " \n".encode("utf-16-be"), Reason.EMPTY),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), Reason.BINARY),
        (b"\x7fELF\x02\x01\x01" + bytes(64), Reason.BINARY),
        (b"PK\x03\x04" + bytes(64), Reason.BINARY),
        (bytes(range(1, 9)) * 40, Reason.BINARY),  # control bytes throughout
    ],
)
def test_rejected_bytes(data: bytes, reason: Reason) -> None:
    result = decode_bytes(data)
    assert isinstance(result, Rejection) and result.reason_code == reason and result.detail


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        (codecs.BOM_UTF8 + FRENCH.encode(), FRENCH, "utf-8-sig"),
        (FRENCH.encode("utf-16"), FRENCH, "utf-16"),
        (ENGLISH.encode("utf-16-le"), ENGLISH, "utf-16-le"),
        (ENGLISH.encode("utf-16-be"), ENGLISH, "utf-16-be"),
        (ENGLISH.encode("utf-32"), ENGLISH, "utf-32"),
        (RUSSIAN.encode("cp1251"), RUSSIAN, "cp1251"),
        (JAPANESE.encode("shift_jis"), JAPANESE, None),
        (CHINESE.encode("gb18030"), CHINESE, None),
        (FRENCH.encode("latin-1"), FRENCH, None),
    ],
)
def test_encodings_without_a_declaration_decode_to_the_same_text(data: bytes, text: str, encoding: str | None) -> None:
    result = decode_bytes(data)
    assert isinstance(result, Decoded), result
    assert result.text == text
    if encoding:
        assert result.encoding == encoding


def test_nul_bytes_inside_text_are_dropped_not_fatal() -> None:
    result = decode_bytes(ENGLISH.encode()[:30] + b"\x00" + ENGLISH.encode()[30:])
    assert isinstance(result, Decoded) and result.text == ENGLISH


def test_stray_legacy_bytes_in_utf8_are_repaired() -> None:
    result = decode_bytes(FRENCH.encode() + b" Caf\xe9 cr\xe8me.")
    assert isinstance(result, Decoded) and result.encoding == "utf-8+cp1252" and result.text.endswith("Café crème.")


def test_a_lying_declared_charset_loses_to_valid_utf8() -> None:
    result = decode_bytes(RUSSIAN.encode(), declared="iso-8859-1")
    assert isinstance(result, Decoded) and result.text == RUSSIAN


def _ref(root: Path, name: str) -> FileRef:
    [found] = [f for f in scan(root) if f.ref.source_path == name]
    assert found.rejection is None
    return found.ref


def test_read_file_vanished_changed_too_large(tmp_path: Path) -> None:
    for name in ("gone.txt", "grows.txt", "big.txt", "same.txt"):
        (tmp_path / name).write_text(ENGLISH)
    refs = {name: _ref(tmp_path, name) for name in ("gone.txt", "grows.txt", "big.txt", "same.txt")}
    (tmp_path / "gone.txt").unlink()
    with (tmp_path / "grows.txt").open("a") as handle:
        handle.write(" More.")
    assert read_file(tmp_path, refs["gone.txt"], max_bytes=10_000).reason_code == Reason.VANISHED  # type: ignore[union-attr]
    changed = read_file(tmp_path, refs["grows.txt"], max_bytes=10_000)
    assert isinstance(changed, Rejection) and changed.reason_code == Reason.CHANGED_DURING_READ
    large = read_file(tmp_path, refs["big.txt"], max_bytes=10)
    assert isinstance(large, Rejection) and large.reason_code == Reason.TOO_LARGE
    assert read_file(tmp_path, refs["same.txt"], max_bytes=10_000) == ENGLISH.encode()


def test_read_file_never_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    size = (tmp_path / "secret.txt").stat().st_size
    for path in ("../secret.txt", str(tmp_path / "secret.txt")):
        result = read_file(root, FileRef(path, size, (tmp_path / "secret.txt").stat().st_mtime_ns), max_bytes=100)
        assert isinstance(result, Rejection) and result.reason_code == Reason.PATH_ESCAPE


def test_read_file_on_a_fifo_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    info = (tmp_path / "pipe.txt").stat()
    result = read_file(tmp_path, FileRef("pipe.txt", info.st_size, info.st_mtime_ns), max_bytes=100)
    assert isinstance(result, Rejection) and result.reason_code == Reason.NOT_A_FILE


def test_read_file_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locked.txt").write_text(ENGLISH)
    ref = _ref(tmp_path, "locked.txt")
    if os.geteuid() != 0:
        (tmp_path / "locked.txt").chmod(0)
    else:  # root reads anything: make open fail the way it does for everyone else

        def denied(*args: object, **kwargs: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(os, "open", denied)
    result = read_file(tmp_path, ref, max_bytes=10_000)
    assert isinstance(result, Rejection) and result.reason_code == Reason.UNREADABLE


def test_scan_reports_special_entries_and_skips_excluded_names(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "dir.txt").mkdir(parents=True)
    (root / "dir.txt" / "inside.txt").write_text(ENGLISH)
    (root / "linked-dir").symlink_to("dir.txt")
    (root / "ok-link.txt").symlink_to("dir.txt/inside.txt")
    (root / "escape.txt").symlink_to(outside / "x.txt")
    (outside / "x.txt").write_text("x")
    (root / "loop.txt").symlink_to("loop.txt")
    (root / "dangling.txt").symlink_to("missing.txt")
    os.mkfifo(root / "fifo.txt")
    for skipped in (".hidden.txt", "draft.txt~", "upload.part", "x.tmp", "README.md", "LICENSE"):
        (root / skipped).write_text(ENGLISH)
    found = {f.ref.source_path: f.rejection.reason_code if f.rejection else None for f in scan(root)}
    assert found == {
        "dangling.txt": Reason.VANISHED,
        "dir.txt/inside.txt": None,
        "escape.txt": Reason.PATH_ESCAPE,
        "fifo.txt": Reason.NOT_A_FILE,
        "linked-dir": Reason.NOT_A_FILE,
        "loop.txt": Reason.SYMLINK_LOOP,
        "ok-link.txt": None,
    }
