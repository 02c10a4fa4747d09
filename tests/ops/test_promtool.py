"""promtool on the deployed Prometheus config, the ops alerting rules and their unit tests."""

from __future__ import annotations

import subprocess

from tests.ops.conftest import PROMETHEUS_DIR, run


def test_prometheus_config_and_its_rule_files_are_valid(promtool: str) -> None:
    out = run(promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert "SUCCESS: 1 rule files found" in out


def test_alerting_rules_are_valid(promtool: str) -> None:
    out = run(promtool, "check", "rules", str(PROMETHEUS_DIR / "rules.yml"))
    assert "SUCCESS: 7 rules found" in out


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
