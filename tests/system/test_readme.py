"""The README is the front door: its settings table lists every setting, and its commands exist."""

from service.settings import Settings
from tests.service_helpers import ROOT


def test_readme_lists_every_setting():
    text = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        env = "REDIS_URL" if name == "redis_url" else f"FASTSCALE_{name.upper()}"
        assert f"`{env}`" in text, env


def test_the_two_setup_commands_are_make_targets_and_ci_runs_the_test_one():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nserve:" in makefile and "\ntest:" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "make serve" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
