"""Playbook safety and matcher speed figures: `python bench/playbook_bench.py [OLD_MATCHER.py]`.

Prints how long an alias bomb, a merge-key bomb and deep nesting take to be refused, how long
`groundswell check` takes on the broken-playbooks test folder, and matcher throughput on
simulated posts with the example playbooks, alone and with an `all_of` + `languages`
playbook added. Given the path of an older `watcher/pipeline/matcher.py`, it times that one too.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watcher.pipeline.matcher import Matcher
from watcher.playbooks.model import build_matcher, load_playbooks, parse_playbook
from watcher.playbooks.yamlmarks import YamlError, load_marked
from watcher.simulation.generate import generate

REPO = Path(__file__).resolve().parent.parent


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def refuse(text: str) -> None:
    try:
        load_marked(text)
    except YamlError:
        return
    raise AssertionError("not refused")


def bombs() -> None:
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    merges = ["a: &a {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1}"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        laughs.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
        merges.append(f"{cur}: &{cur} {{<<: [{', '.join([f'*{prev}'] * 9)}]}}")
    cases = {
        "billion laughs (9^9 values)": "\n".join(laughs),
        "merge-key bomb (9^9 keys)": "\n".join(merges),
        "nesting 100,000 deep": "[" * 100_000 + "]" * 100_000,
    }
    for name, text in cases.items():
        print(f"refuse {name:<30} {best_of(5, functools.partial(refuse, text)) * 1000:8.2f} ms")
    broken = REPO / "tests" / "watcher" / "broken_playbooks"
    command = [sys.executable, "-m", "watcher", "check", str(broken)]
    elapsed = best_of(3, lambda: subprocess.run(command, capture_output=True, check=False))
    print(f"`groundswell check` on {broken.name}/ (process, incl. start-up) {elapsed:6.2f} s")


def _match_all(matcher: Any, posts: list[tuple[str, str]], *, with_lang: bool) -> None:
    for text, lang in posts:
        if with_lang:
            matcher.match(text, lang)
        else:
            matcher.match(text)


def matchers(old_path: str | None) -> None:
    posts = [(p["text"], p.get("lang", "")) for p in generate("trafigura")]
    playbooks = load_playbooks([REPO / "playbooks"])
    narrowed = parse_playbook(
        "name: narrowed\nwatch:\n  terms: [eviction, evicted, bailiffs]\n"
        "  all_of: [[tower, block, estate, flats]]\n  languages: [en, cy]\n"
    )
    variants: dict[str, Any] = {
        "examples": build_matcher(playbooks),
        "examples + all_of/languages playbook": build_matcher([*playbooks, narrowed]),
    }
    if old_path:
        spec = importlib.util.spec_from_file_location("old_matcher", old_path)
        assert spec is not None
        assert spec.loader is not None
        old = importlib.util.module_from_spec(spec)
        sys.modules["old_matcher"] = old  # dataclasses look their module up
        spec.loader.exec_module(old)
        variants["examples, OLD matcher"] = old.Matcher(
            [p.watch.terms for p in playbooks], [p.watch.exclude for p in playbooks]
        )
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(7):  # interleaved, so a noisy neighbour slows every variant alike
        for name, matcher in variants.items():
            if isinstance(matcher, Matcher):
                elapsed = best_of(1, functools.partial(_match_all, matcher, posts, with_lang=True))
            else:
                elapsed = best_of(1, functools.partial(_match_all, matcher, posts, with_lang=False))
            best[name] = min(best[name], elapsed)
    for name, elapsed in best.items():
        print(f"match {name:<38} {len(posts) / elapsed:12,.0f} posts/s (best of 7)")


if __name__ == "__main__":
    bombs()
    matchers(sys.argv[1] if len(sys.argv) > 1 else None)
