"""`--record`: posts appended as NDJSON, rotated by size so a recording never fills a disk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import T0
from watcher.post import Post, dump_post, parse_post_line
from watcher.service.record import Recorder


def posts(start: int, n: int) -> list[Post]:
    at = datetime.fromtimestamp(T0, tz=UTC)
    return [Post(f"id{i:04}", "a", "toxic waste", at) for i in range(start, start + n)]


def test_the_recording_rotates_by_size_and_keeps_n_whole_files(tmp_path: Path) -> None:
    out = tmp_path / "rec.ndjson"
    line = len(dump_post(posts(0, 1)[0]))
    with Recorder(out, max_bytes=10 * line, keep=2) as recorder:
        for start in range(0, 100, 4):  # 25 batches of 4 lines
            recorder.write(posts(start, 4))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "rec.ndjson",
        "rec.ndjson.1",
        "rec.ndjson.2",
    ]
    ids = []
    for name in ("rec.ndjson.2", "rec.ndjson.1", "rec.ndjson"):
        data = (tmp_path / name).read_bytes()
        assert len(data) <= 10 * line  # a batch is never split across files
        ids += [parse_post_line(raw).id for raw in data.splitlines()]
    assert ids == [f"id{i:04}" for i in range(80, 100)]  # two batches a file: the newest
    assert recorder.written == 100


def test_an_existing_recording_counts_towards_its_size(tmp_path: Path) -> None:
    out = tmp_path / "rec.ndjson"
    out.write_bytes(b"x" * 100)
    with Recorder(out, max_bytes=120, keep=1) as recorder:
        recorder.write(posts(0, 1))
    assert (tmp_path / "rec.ndjson.1").read_bytes() == b"x" * 100
    assert parse_post_line(out.read_bytes()).id == "id0000"
