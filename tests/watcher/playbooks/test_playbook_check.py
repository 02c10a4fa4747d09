"""`groundswell check` on a folder of broken playbooks: one precise message per problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import MINI_PLAYBOOK, REPO
from watcher.playbooks.findings import PlaybookError, Problem
from watcher.playbooks.model import (
    build_matcher,
    check_playbook,
    load_playbooks,
    parse_playbook,
)

BROKEN = Path(__file__).parent / "broken_playbooks"


def test_check_on_broken_folder_gives_one_precise_message_per_problem() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "check", "tests/watcher/broken_playbooks"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    d = "tests/watcher/broken_playbooks/"
    assert done.stdout.splitlines() == [
        f"{d}alias-bomb.yaml:7:4: error: this expands to more than 100,000 values, through aliases "
        "(`*name`) if it is short: an alias bomb? Write the values out instead",
        f"{d}dup-b.yaml:1:7: error: `name`: 'evictions' is already used by {d}dup-a.yaml",
        f"{d}indentation.yaml:4:2: error: YAML syntax: this line is not indented like the lines "
        "around it; line up the keys of one section under each other, using spaces",
        f"{d}terms.yaml:5:7: warning: `watch.terms[1]`: 'raw sewage' is already covered by "
        "`watch.terms[0]` 'sewage' (every post that mentions 'raw sewage' also mentions "
        "'sewage'), so it adds nothing; remove it",
        f"{d}terms.yaml:7:7: warning: `watch.terms[3]`: 'OFWAT' repeats `watch.terms[2]` 'Ofwat' "
        "(case and accents are ignored); remove one",
        f"{d}terms.yaml:8:7: warning: `watch.terms[4]`: '#sewage' is already covered by "
        "`watch.terms[0]` 'sewage' (a plain word also matches its #hashtag), so it adds "
        "nothing; remove it",
        f"{d}terms.yaml:9:13: warning: `watch.exclude[0]`: 'sewage' removes every post that "
        "mentions "
        "`watch.terms[0]` 'sewage', `watch.terms[1]` 'raw sewage', `watch.terms[4]` "
        "'#sewage', so those terms can never count; use a longer phrase that only the "
        "unwanted posts contain",
        f"{d}terms.yaml:12:25: warning: `respond.resources[0].url`: 'https://clearwater/map' is "
        "not a "
        "web address: the site 'clearwater' has no domain ending such as .org; write it in "
        "full, like https://example.org/page",
        f"{d}terms.yaml:13:28: error: `respond.resources[1].url`: 'clearwater.example/report' is "
        "not a web address; write it in full, https://…",
        f"{d}terms.yaml:14:27: warning: `respond.resources[2].url`: "
        "'https://clearwater.example/my guide' is not a web address: it contains a space; "
        "write it in full, like https://example.org/page",
        f"{d}unknown-keys.yaml:4:3: error: unknown key `exclud` — did you mean `exclude`?",
        f"{d}unknown-keys.yaml:5:1: error: unknown key `respnd` — did you mean `respond`?",
        f"{d}wrong-types.yaml:3:10: error: `watch.terms`: expected a list (`[a, b]`, or one "
        "`- item` per line), got 'toxic waste'",
        f"{d}wrong-types.yaml:4:19: error: `watch.languages[1]`: expected text, got false (YAML "
        "reads yes, no, on, off, true and false as true or false; put the value in quotes)",
        f"{d}wrong-types.yaml:6:19: error: `detect.bucket_minutes`: expected a whole number, got "
        "'five'",
        f"{d}wrong-types.yaml:7:16: error: `detect.sensitivity`: 'hgh' is not one of low, medium, "
        "high — did you mean `high`?",
        f"{d}wrong-types.yaml:9:10: error: `respond.slack`: expected a mapping of keys (`key: "
        "value` "
        "lines indented under it), got '#alerts'",
    ]


def problems(text: str) -> list[str]:
    """Every error and warning in `text`, as `groundswell check` prints them."""
    return [str(p) for p in check_playbook(text, "pb.yaml")[1]]


def watch(block: str) -> str:
    return f"name: x\nwatch:\n{block}"


def test_exclude_that_silences_the_whole_playbook() -> None:
    text = watch("  terms: [toxic waste, waste dumping]\n  exclude: [waste]\n")
    assert problems(text) == [
        "pb.yaml:4:13: warning: `watch.exclude[0]`: 'waste' removes every match (every term "
        "contains "
        "it), so this playbook could never count a post; use a longer phrase that only the "
        "unwanted posts contain"
    ]


def test_exclude_that_empties_an_all_of_group() -> None:
    text = watch("  terms: [eviction]\n  all_of: [[tower block]]\n  exclude: [tower]\n")
    assert problems(text) == [
        "pb.yaml:5:13: warning: `watch.exclude[0]`: 'tower' removes every match (every term of "
        "`watch.all_of[0]` contains it), so this playbook could never count a post; use a "
        "longer phrase that only the unwanted posts contain"
    ]


def test_all_of_group_that_narrows_nothing() -> None:
    text = watch("  terms: [eviction, bailiffs]\n  all_of: [[eviction, bailiffs, tower]]\n")
    assert problems(text) == [
        "pb.yaml:4:12: warning: `watch.all_of[0]` narrows nothing: every post that mentions one of "
        "the "
        "terms already mentions a term of this group; remove the group, or the terms it shares "
        "with `watch.terms`"
    ]


def test_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    missing = tmp_path / "gone.yaml"
    with pytest.raises(PlaybookError) as info:
        load_playbooks([missing])
    assert [str(p) for p in info.value.problems] == [
        f"{missing}:1:1: error: cannot read this file: No such file or directory"
    ]


def test_a_more_specific_exclude_is_fine() -> None:
    text = watch("  terms: [toxic waste]\n  exclude: [toxic waste candy, wastewater]\n")
    assert parse_playbook(text).watch.exclude == ("toxic waste candy", "wastewater")


def test_terms_that_only_share_letters_are_not_redundant() -> None:
    text = watch("  terms: [waste, wastewater, super-injunction, superinjunction, '#sewage']\n")
    assert len(parse_playbook(text).watch.terms) == 5


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "  terms: [a]\n  languages: [english]\n",
            "pb.yaml:4:15: error: `watch.languages[0]`: 'english' is not a language code; use two- "
            "or "
            "three-letter ISO 639 codes such as en, fr, es, cy",
        ),
        (
            "  terms: [a]\n  languages: [en-GB]\n",
            "pb.yaml:4:15: error: `watch.languages[0]`: 'en-GB': write the language only, 'en'; "
            "posts "
            "in every variety of it (en-GB, ...) count",
        ),
        (
            "  terms: [a]\n  own_domains: [https://ngo.example]\n",
            "pb.yaml:4:17: error: `watch.own_domains[0]`: 'https://ngo.example' is not a web "
            "domain; "
            "write just the domain, like 'example.org' (no https://, no path)",
        ),
        (
            "  terms: ['!!!']\n",
            "pb.yaml:3:11: error: `watch.terms[0]`: '!!!' has no letters or digits; a term must "
            "contain a word",
        ),
        ("  terms: []\n", "pb.yaml:3:10: error: `watch.terms`: needs at least 1 entry"),
        (
            "  terms: [a]\n  all_of: [[]]\n",
            "pb.yaml:4:11: error: `watch.all_of`: an all_of group needs at least one term",
        ),
    ],
)
def test_plain_messages_for_watch_mistakes(block: str, message: str) -> None:
    assert problems(watch(block)) == [message]


def test_out_of_range_number() -> None:
    text = MINI_PLAYBOOK.replace("warmup_hours: 2", "bucket_minutes: 90")
    assert problems(text) == [
        "pb.yaml:8:19: error: `detect.bucket_minutes`: must be at most 60, got 90"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nwatch:\n\tterms: [a]\n", "pb.yaml:3:1: error: YAML syntax: a tab character; "
         "indent with spaces only"),
        ("name: x\nwatch: {terms: [a]\n", "pb.yaml:3:1: error: YAML syntax: a `{` mapping is not "
         "closed with `}`, or its items are not separated by commas"),
        ("name: 'x\nwatch: 1\n", "pb.yaml:1:7: error: YAML syntax: a quoted value is never "
         "closed; add the closing quote"),
        ("name: x\n---\nname: y\n", "pb.yaml:2:1: error: YAML syntax: a playbook file holds one "
         "document; remove the `---` line"),
        ("name: x\x1f\n", "pb.yaml:1:8: error: YAML syntax: a control character (U+001F) that YAML "
         "does not allow; delete it (it often comes with copy and paste)"),
        ("[" * 5000 + "]" * 5000, "pb.yaml:1:51: error: YAML syntax: nested too deeply; a playbook "
         "needs only a few levels"),
        ("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1100)), "pb.yaml:1:1: error: YAML "
         "syntax: nested too deeply; a playbook needs only a few levels"),
    ],
)  # fmt: skip
def test_yaml_syntax_in_plain_words(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_recursive_alias_is_refused() -> None:
    assert problems("name: x\nwatch:\n  terms: &t [a, *t]\n") == [
        "pb.yaml:3:10: error: an alias `*name` sits inside the list or mapping it names, so it "
        "never "
        "ends; write the values out instead"
    ]


def test_merge_key_bomb_is_refused_before_it_is_built() -> None:
    lines = ["a: &a {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1}"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} {{<<: [{', '.join([f'*{prev}'] * 9)}]}}")
    [message] = problems("\n".join(lines))
    assert "an alias bomb?" in message


def test_every_example_references_the_schema() -> None:
    from tests.conftest import PLAYBOOKS

    for path in sorted(PLAYBOOKS.glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=./schema.json", path.name


def test_readme_example_playbook_passes_check() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    playbook = parse_playbook(block, "README.md")
    assert playbook.watch.all_of
    assert playbook.watch.languages == ("en", "fr")


yamlish = st.text(alphabet="name:watch terms[]{},-#&*!<>'\"\n\t 0123456789", max_size=120)


@given(st.one_of(yamlish, st.text(max_size=60)))
def test_any_text_gives_problems_never_a_traceback(text: str) -> None:
    found: tuple[Problem, ...] = ()
    try:
        parse_playbook(text, "pb.yaml")
    except PlaybookError as exc:
        found = exc.problems
        assert found, "a PlaybookError always lists its problems"
    for problem in found:
        assert problem.line >= 1
        assert problem.col >= 1
        assert str(problem).startswith("pb.yaml:")


@given(
    st.lists(st.text(alphabet="abcé #-'_", min_size=1, max_size=12), min_size=1, max_size=6),
    st.lists(st.text(alphabet="abcé #-'_", min_size=1, max_size=12), max_size=3),
)
def test_any_term_lists_give_problems_never_a_traceback(
    terms: list[str], exclude: list[str]
) -> None:
    text = f"name: x\nwatch:\n  terms: {json.dumps(terms)}\n  exclude: {json.dumps(exclude)}\n"
    try:
        playbook = parse_playbook(text, "pb.yaml")
    except PlaybookError as exc:
        found = exc.problems
    else:
        build_matcher([playbook]).match(" ".join(terms))
        found = ()
    assert all(str(p).startswith("pb.yaml:") for p in found)


def test_every_schema_field_has_a_description_for_editors() -> None:
    from watcher.commands.schema import playbook_schema

    schema = json.loads(playbook_schema())
    models = {"Playbook": schema, **schema["$defs"]}
    for name, model in models.items():
        assert model.get("description"), name
        for key, field in model["properties"].items():
            assert field.get("description"), f"{name}.{key}"


def test_an_unclosed_quote_in_a_flow_list_is_reported_on_its_line() -> None:
    # The next `"` (line 10) closes it, so PyYAML's own mark is where that swallowed text
    # stops parsing: 11:3, far below the mistake.
    text = MINI_PLAYBOOK.replace("exclude: [video game]", 'exclude: ["video game, sweets]')
    assert problems(text) == [
        "pb.yaml:4:13: error: YAML syntax: a quoted value is never closed on its line, so it "
        "runs on to the next quote (line 10); add the closing quote"
    ]


def test_an_unclosed_quote_that_nothing_closes_points_at_the_quote() -> None:
    text = MINI_PLAYBOOK.replace("{title: Meeting room,", "{title: 'Meeting room,")
    assert problems(text) == [
        "pb.yaml:16:15: error: YAML syntax: a quoted value is never closed; add the closing quote"
    ]


def test_a_plain_http_link_is_a_warning_but_a_local_one_is_not() -> None:
    text = MINI_PLAYBOOK.replace("https://ngo.example/report", "http://ngo.example/report")
    assert problems(text) == [
        "pb.yaml:12:40: warning: `respond.resources[0].url`: 'http://ngo.example/report' is "
        "plain http: the link travels unencrypted and browsers warn about it; write https:// "
        "if the site has it"
    ]
    assert parse_playbook(text).respond.resources[0].title == "Our dumping report"
    for local in ("http://localhost:8080/hook", "http://127.0.0.1:9000/x"):
        assert problems(MINI_PLAYBOOK.replace("https://ngo.example/report", local)) == []
