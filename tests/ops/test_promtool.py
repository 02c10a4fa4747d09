"""promtool on the deployed Prometheus config, the ops alerting rules and their unit tests."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.conftest import REPO
from tests.ops.conftest import PROMETHEUS_DIR, run


def test_prometheus_config_and_its_rule_files_are_valid(promtool: str) -> None:
    out = run(promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert "SUCCESS: 1 rule files found" in out


def test_alerting_rules_are_valid(promtool: str) -> None:
    out = run(promtool, "check", "rules", str(PROMETHEUS_DIR / "rules.yml"))
    assert "SUCCESS: 14 rules found" in out


def test_alerting_rules_pass_their_unit_tests(promtool: str) -> None:
    out = run(promtool, "test", "rules", str(PROMETHEUS_DIR / "rules_test.yml"))
    assert "SUCCESS" in out


def test_promtool_check_metrics_catches_bad_names(promtool: str) -> None:
    """The lint used on our scrape in test_live_prometheus is live: it rejects a bad name."""
    bad = "# HELP foo_ms A counter.\n# TYPE foo_ms counter\nfoo_ms 1\n"
    done = subprocess.run(
        [promtool, "check", "metrics"], input=bad, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert 'counter metrics should have "_total" suffix' in done.stdout + done.stderr


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, spaces as -."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_rule_links_to_its_runbook_section_in_the_readme() -> None:
    groups = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())["groups"]
    anchors = github_anchors((REPO / "README.md").read_text())
    for rule in (rule for group in groups for rule in group["rules"]):
        url = rule["annotations"]["runbook_url"]
        assert url == f"README.md#{rule['alert'].lower()}"
        assert url.split("#")[1] in anchors, f"{rule['alert']}: no README section {url}"
