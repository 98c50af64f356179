"""Every kind of hostile input the issue names, generated here, through the real flow in one run.

Each file must end in exactly the place listed (articles, quarantine with that reason_code, or both for
JSONL with some bad lines), never silently skipped, and the run must complete.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.reliability.invariants import SENTENCES, assert_complete

ENGLISH = " ".join(SENTENCES[:4])
RUSSIAN = (
    "Правительство объявило о новых мерах поддержки экономики и малого бизнеса в регионах страны. "
    "Министр финансов сообщил, что программа начнёт работать уже в следующем месяце."
)
JAPANESE = "東京都は来年度の予算案を発表し、子育て支援と防災対策に重点を置く方針を示した。知事は記者会見で説明した。"
CHINESE = "国家统计局今天发布数据显示，今年前三季度国内生产总值同比增长，消费市场持续恢复，就业形势总体稳定。"
FRENCH = (
    "Le conseil municipal a approuvé le budget de la nouvelle école après un long débat mardi soir. "
    "Les élèves pourront s'installer dans les nouveaux bâtiments à la rentrée, a précisé le maire."
)
GERMAN = (
    "Die Stadtverwaltung hat am Dienstag beschlossen, dass die Brücke über den Fluss im nächsten Jahr erneuert wird."
)

LANDED = "landed"  # in articles, not in quarantine
SQL_NAME = "x'); DROP VIEW articles; --.txt"


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def _elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(400)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("story.txt", ENGLISH)
    return buffer.getvalue()


def _deep_html(depth: int) -> bytes:
    return ("<html><body>" + "<div>" * depth + f"<p>{ENGLISH} Deep.</p>" + "</div>" * depth + "</body></html>").encode()


# name → (bytes, expected): expected is LANDED, a reason_code, or "landed+<code>" for partial files
KINDS: dict[str, tuple[bytes, str]] = {
    "empty.txt": (b"", "empty"),
    "whitespace.txt": (b" \n\t\r\n   \n", "empty"),
    "digits-punctuation.txt": (b"12345 67.89 -- !!! ??? 2024-01-01 (42) [7]", "no_text"),
    "emoji.txt": ("🎉🔥💯 🙂🙂 👍🏽 ✨".encode(), "no_text"),
    "single-word.txt": (b"Hello", LANDED),
    "png-named.txt": (_png(), "binary"),
    "elf-named.txt": (_elf(), "binary"),
    "zip-named.txt": (_zip(), "binary"),
    "nul-inside.txt": (ENGLISH.encode()[:120] + b"\x00" + ENGLISH.encode()[120:] + b" Nul.", LANDED),
    "invalid-utf8.txt": ((FRENCH + " Caf").encode() + b"\xe9 cr\xe8me." + FRENCH.encode(), LANDED),
    "random-garbage.txt": (bytes((i * 151 + 7) % 256 for i in range(2000)), "decode_error"),
    "utf16-bom.txt": (GERMAN.encode("utf-16"), LANDED),
    "utf16le-no-bom.txt": (ENGLISH.encode("utf-16-le"), LANDED),
    "utf16be-no-bom.txt": ((ENGLISH + " Story two.").encode("utf-16-be"), LANDED),
    "utf8-bom.txt": (b"\xef\xbb\xbf" + (FRENCH + " Deux.").encode(), LANDED),
    "cp1251.txt": (RUSSIAN.encode("cp1251"), LANDED),
    "shift-jis.txt": (JAPANESE.encode("shift_jis"), LANDED),
    "gb18030.txt": (CHINESE.encode("gb18030"), LANDED),
    "latin1.txt": ((FRENCH + " Trois.").encode("latin-1"), LANDED),
    "lying-charset.html": (
        f'<html><head><meta charset="iso-8859-1"><title>Budget</title></head><body><p>{RUSSIAN} Вторая статья.</p></body></html>'.encode(),
        LANDED,
    ),
    "truncated.txt.gz": (gzip.compress(ENGLISH.encode())[:-10], "gzip_error"),
    "corrupt.txt.gz": (b"\x1f\x8b\x08\x00" + bytes(range(200)), "gzip_error"),
    "bomb.txt.gz": (gzip.compress(b"a " * 3_000_000), "decompression_bomb"),
    "malformed.json": (b'{"headline": "Budget", "body": "The council', "parse_error"),
    "wrong-shape.json": (json.dumps([1, 2, 3]).encode(), "wrong_shape"),
    "no-body.json": (json.dumps({"headline": "Only a title", "tags": ["x"]}).encode(), "no_body"),
    "mixed.jsonl": (
        "\n".join(
            [
                json.dumps({"headline": "Budget", "body": ENGLISH}),
                "{oops",
                json.dumps("a string"),
                json.dumps({"body": FRENCH}),
            ]
        ).encode(),
        "landed+parse_error,wrong_shape",
    ),
    "no-body-text.html": (
        b"<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a></nav></body></html>",
        "no_body",
    ),
    "deeply-nested.html": (_deep_html(5000), LANDED),
    "long-title.md": (("# " + "Budget " * 3000 + "\n\n" + ENGLISH).encode(), "expectation_failed"),
    "mixed-language.txt": ((ENGLISH + "\n\n" + RUSSIAN + "\n\n" + FRENCH + " Mixed.").encode(), LANDED),
    "name with spaces.txt": (SENTENCES[5].encode() + b" " + SENTENCES[6].encode(), LANDED),
    "nön-àscii-名前.txt": (SENTENCES[6].encode() + b" " + SENTENCES[7].encode(), LANDED),
    "new\nline.txt": (SENTENCES[7].encode() + b" " + SENTENCES[8].encode(), LANDED),
    "--leading-dashes.txt": (SENTENCES[8].encode() + b" " + SENTENCES[9].encode(), LANDED),
    SQL_NAME: (SENTENCES[9].encode() + b" " + SENTENCES[0].encode(), LANDED),
    "notes.pdf": (b"%PDF-1.4\n" + bytes(100), "unsupported_format"),
}


def _special_files(source: Path, outside: Path) -> dict[str, str]:
    """Entries that are not plain files with bytes: made with the OS, each with its expected outcome."""
    expected: dict[str, str] = {}
    big = source / "sparse-1gb.txt"
    with big.open("wb") as handle:
        handle.truncate(1 << 30)  # sparse: costs no disk, must never be read
    expected[big.name] = "too_large"
    line = source / "one-line-50mb.txt"
    line.write_bytes(b"a" * 50_000_000)
    expected[line.name] = "too_large"
    (outside / "secret.txt").write_text(ENGLISH)
    (source / "escape.txt").symlink_to(outside / "secret.txt")
    expected["escape.txt"] = "path_escape"
    (source / "escape-dir").symlink_to(outside)
    expected["escape-dir"] = "path_escape"
    (source / "loop.txt").symlink_to("loop.txt")
    expected["loop.txt"] = "symlink_loop"
    (source / "dangling.txt").symlink_to("nowhere.txt")
    expected["dangling.txt"] = "vanished"
    os.mkfifo(source / "pipe.txt")
    expected["pipe.txt"] = "not_a_file"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(source / "socket.txt"))
    server.close()
    expected["socket.txt"] = "not_a_file"
    try:
        os.mknod(source / "device.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        expected["device.txt"] = "not_a_file"
    except PermissionError:  # unprivileged: the FIFO and socket above cover special files
        pass
    folder = source / "folder.txt"  # a directory named like a file: descended into, not read
    folder.mkdir()
    (folder / "inside.txt").write_text(SENTENCES[1] + " " + SENTENCES[3])
    expected["folder.txt/inside.txt"] = LANDED
    locked = source / "no-permission.txt"
    locked.write_text(SENTENCES[2] + " " + SENTENCES[4])
    locked.chmod(0)
    expected[locked.name] = LANDED if os.geteuid() == 0 else "unreadable"  # root reads anything
    return expected


def test_every_bad_input_kind_lands_or_is_quarantined_with_its_reason(
    tmp_path: Path, source: Path, warehouse_dir: Path, ingest: Callable[..., Any], sql: Callable[..., Any]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    expected = {name: outcome for name, (_, outcome) in KINDS.items()}
    for name, (data, _) in KINDS.items():
        (source / name).write_bytes(data)
    expected |= _special_files(source, outside)
    assert len(expected) >= 45

    summary = ingest(max_decompressed_bytes=1_000_000)

    assert summary.status == "completed"
    landed = {path for (path,) in sql("SELECT DISTINCT source_path FROM articles")}
    reasons = dict(
        sql("SELECT source_path, string_agg(DISTINCT reason_code, ',' ORDER BY reason_code) FROM quarantine GROUP BY 1")
    )
    duplicates = {path for (path,) in sql("SELECT source_path FROM file_status WHERE status = 'duplicate'")}
    wrong = {}
    for name, want in expected.items():
        where = [LANDED] if name in landed else ["duplicate"] if name in duplicates else []
        got = "+".join(where + ([reasons[name]] if name in reasons else [])) or "missing"
        if got != want:
            wrong[name] = f"{got} (expected {want})"
    assert wrong == {}
    kept = dict(sql("SELECT source_path, kept_as FROM quarantine WHERE reason_code IN ('binary', 'gzip_error')"))
    assert all(kept.values()) and (warehouse_dir / kept["png-named.txt"]).read_bytes() == _png()
    assert all(detail for (detail,) in sql("SELECT reason_detail FROM quarantine"))
    assert sql("SELECT record_index FROM quarantine WHERE source_path = 'mixed.jsonl' ORDER BY 1") == [(2,), (3,)]
    assert sql("SELECT language FROM articles WHERE source_path = 'cp1251.txt'") == [("ru",)]
    assert sql("SELECT language FROM articles WHERE source_path = 'shift-jis.txt'") == [("ja",)]
    assert sql("SELECT language FROM articles WHERE source_path = 'lying-charset.html'") == [("ru",)]
    assert sql("SELECT count(*) FROM articles WHERE source_path = ?", SQL_NAME) == [(1,)]
    assert sql("SELECT count(*) FROM quarantine WHERE source_path LIKE 'escape-dir/%'") == [(0,)]
    (source / "no-permission.txt").chmod(0o644)
    assert_complete(source, warehouse_dir)
    assert ingest(max_decompressed_bytes=1_000_000).counts.new_files == 0  # nothing is retried forever
