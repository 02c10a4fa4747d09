"""End-to-end replay throughput against a parse-only floor, and the playbook scaling curve.

    python bench/throughput.py                 # 1M posts, 20 playbooks × 50 terms, 48 h
    python bench/throughput.py --scaling       # 1, 10, 100, 1000 playbooks × 50 terms
    python bench/throughput.py --table [--quick]  # posts/s against event-time span and playbooks

`--table` holds the post count fixed and varies one thing at a time: the event time the
posts cover (1 h, 48 h, 6 days, 30 days, 20 playbooks) and the playbooks (1, 20, 100 and,
without `--quick`, 1,000, over 48 h). Replay cost should grow with posts and activity, not
with playbooks × event time (issue 16): a flat span column is the goal. `--quick` uses
100,000 posts and skips 1,000 playbooks. Progress goes to stderr. Each row also gives
posts/s by CPU time (the replay child's user + system time, and the parse loop's), the
steadier figure when other work shares the cores.

`groundswell replay` runs as a subprocess pinned to one core (taskset), alerts to a file,
timed from start to exit (interpreter start-up included). In the same run a loop that only
`orjson.loads` every line of the same file gives the floor; the ratio is printed. Matching
alone (the batch prefilter plus the exact per-post check) is timed in process.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record
from bench.firehose import write_playbooks, write_posts
from watcher.playbooks.model import build_matcher, load_playbooks


def parse_only(path: Path) -> tuple[float, float]:
    """Posts per second, by the wall clock and by CPU time, for a loop that only decodes
    each line."""
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            orjson.loads(line)
            count += 1
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


def child_cpu() -> float:
    """CPU seconds (user + system) of the finished subprocesses so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def replay(path: Path, playbooks: Path, alerts: Path, posts: int) -> tuple[float, float, str]:
    """Posts per second of `groundswell replay`, by the wall clock and by its CPU time (on
    a loaded machine the CPU figure is the steadier one), and its summary line."""
    command = [
        sys.executable, "-m", "watcher", "replay", str(path),
        "--playbooks", str(playbooks), "--alerts-out", str(alerts), "-q",
    ]  # fmt: skip
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    started, cpu = time.perf_counter(), child_cpu()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    return posts / elapsed, posts / (child_cpu() - cpu), done.stderr.strip().splitlines()[-1]


def matching_cost(data: Path, folder: Path, sample: int = 100_000) -> float:
    """Microseconds per post for matching alone: the batch prefilter plus the exact check."""
    matcher = build_matcher(load_playbooks([folder]))
    with data.open("rb") as handle:
        texts = [orjson.loads(line)["text"] for line in itertools.islice(handle, sample)]
    started = time.perf_counter()
    for i in range(0, len(texts), 4096):
        chunk = texts[i : i + 4096]
        for index in matcher.candidates(chunk):
            matcher.match(chunk[index])
    return (time.perf_counter() - started) / len(texts) * 1e6


def end_to_end(
    workdir: Path,
    posts: int,
    playbooks: int,
    terms: int,
    span_hours: float,
    *,
    matching: bool = True,
) -> dict[str, float]:
    folder = workdir / f"playbooks-{playbooks}"
    groups = write_playbooks(folder, playbooks, terms)
    data = workdir / f"posts-{posts}-{playbooks}-{span_hours:g}h.ndjson"
    if not data.exists():
        print(f"generating {posts:,} posts …", file=sys.stderr)
        write_posts(data, posts, groups, span_s=span_hours * 3600)
    floor, cpu_floor = parse_only(data)
    rate, cpu_rate, summary = replay(data, folder, workdir / "alerts.ndjson", posts)
    print(f"  {summary}", file=sys.stderr)
    figures = {
        "replay_posts_per_s": round(rate),
        "parse_only_posts_per_s": round(floor),
        "ratio": round(rate / floor, 3),
        "replay_cpu_posts_per_s": round(cpu_rate),
        "parse_only_cpu_posts_per_s": round(cpu_floor),
        "cpu_ratio": round(cpu_rate / cpu_floor, 3),
    }
    if matching:
        figures["matching_us_per_post"] = round(matching_cost(data, folder), 3)
    return figures


SPANS_H = (1.0, 48.0, 6 * 24.0, 30 * 24.0)
TABLE_PLAYBOOKS = (1, 20, 100, 1000)


def table(workdir: Path, posts: int, terms: int, *, quick: bool) -> dict[str, object]:
    """Posts/s and the ratio to parse-only against event-time span, then against playbooks."""
    rows: list[dict[str, float]] = []
    cases = [(20, span) for span in SPANS_H]
    cases += [(n, 48.0) for n in TABLE_PLAYBOOKS if n != 20 and not (quick and n > 100)]
    print(
        f"{'playbooks':>9} {'span':>6} {'buckets':>8} {'posts/s':>9} {'parse-only':>10} "
        f"{'ratio':>6} | by CPU time: {'posts/s':>9} {'parse-only':>10} ratio"
    )
    for playbooks, span in cases:
        print(f"… {playbooks} playbooks, {span:g} h", file=sys.stderr, flush=True)
        figures = end_to_end(workdir, posts, playbooks, terms, span, matching=False)
        rows.append({"playbooks": playbooks, "span_hours": span, **figures})
        label = f"{span / 24:g} d" if span >= 48 else f"{span:g} h"
        print(
            f"{playbooks:9d} {label:>6} {round(span * 12):8,} "
            f"{figures['replay_posts_per_s']:9,} {figures['parse_only_posts_per_s']:10,} "
            f"{figures['ratio']:6.3f} |              {figures['replay_cpu_posts_per_s']:9,} "
            f"{figures['parse_only_cpu_posts_per_s']:10,} {figures['cpu_ratio']:.3f}",
            flush=True,
        )
    return {"posts": posts, "terms_per_playbook": terms, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--playbooks", type=int, default=20)
    parser.add_argument("--terms", type=int, default=50)
    parser.add_argument("--scaling", action="store_true", help="1, 10, 100, 1000 playbooks")
    parser.add_argument(
        "--span-hours",
        type=float,
        help="event time the posts cover (48; 1 with --scaling, as for a firehose: bucket "
        "closes cost per playbook per 5 minutes of event time, whatever the post rate)",
    )
    parser.add_argument("--table", action="store_true", help="against event-time span, playbooks")
    parser.add_argument("--quick", action="store_true", help="--table on 100k posts, ≤ 100 pbs")
    parser.add_argument("--workdir", type=Path, help="keep generated files here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gs-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.table:
            posts = 100_000 if args.quick and args.posts == 1_000_000 else args.posts
            figures_table = table(workdir, posts, args.terms, quick=args.quick)
            record("throughput_table_quick" if args.quick else "throughput_table", figures_table)
            return
        if args.scaling:
            span = args.span_hours or 1.0
            rows = {}
            for playbooks in (1, 10, 100, 1000):
                figures = end_to_end(workdir, args.posts, playbooks, args.terms, span)
                rows[str(playbooks)] = figures
                print(
                    f"{playbooks:5d} playbooks × {args.terms} terms: "
                    f"{figures['replay_posts_per_s']:>9,} posts/s "
                    f"(parse-only {figures['parse_only_posts_per_s']:,}, "
                    f"ratio {figures['ratio']:.2f}); matching "
                    f"{figures['matching_us_per_post']:.2f} µs/post"
                )
            record(
                "scaling",
                {"posts": args.posts, "terms_per_playbook": args.terms, "span_hours": span, **rows},
            )
            return
        span = args.span_hours or 48.0
        figures = end_to_end(workdir, args.posts, args.playbooks, args.terms, span)
        print(f"replay end to end : {figures['replay_posts_per_s']:>9,} posts/s (one core)")
        print(f"orjson parse only : {figures['parse_only_posts_per_s']:>9,} posts/s")
        print(f"ratio             : {figures['ratio']:.3f}  (target ≥ 0.15; ≥ 300,000 posts/s)")
        print(
            f"by CPU time       : {figures['replay_cpu_posts_per_s']:>9,} posts/s against "
            f"{figures['parse_only_cpu_posts_per_s']:,}, ratio {figures['cpu_ratio']:.3f}"
        )
        print(f"matching alone    : {figures['matching_us_per_post']:.2f} µs/post")
        record(
            "throughput",
            {"posts": args.posts, "playbooks": args.playbooks, "terms": args.terms,
             "span_hours": span, **figures},
        )  # fmt: skip


if __name__ == "__main__":
    main()
