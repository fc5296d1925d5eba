"""The README's Python example runs (its solve on the test-only rule), its commands are intact."""
from __future__ import annotations

import contextlib
import io
import re

import _fake_rule
import robustdsl as rd
from conftest import ROOT


def test_readme_python_example_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    rule = _fake_rule.install()
    out = io.StringIO()
    try:
        env: dict = {}
        with contextlib.redirect_stdout(out):
            exec(compile(blocks[0], "README.md", "exec"), env)
            exec(compile(blocks[1], "README.md", "exec"), env)
    finally:
        _fake_rule.uninstall(rule)
    printed = out.getvalue().splitlines()
    assert printed[0] == "inf_{f} sup_{mu~} E_{mu~}[zero_one(f)] - OT_{c}(mu, mu~)"
    assert printed[1].startswith("agnostic + zero_one + ball(l2)")
    assert printed[2] == f"{_fake_rule.fake_value(3.5, 3, 2)} lower_bound fake"
    assert env["problem"] == rd.parse(printed[0], f=env["f"], mu=env["mu"], c=env["cost"])
    assert env["mu"].n == 60


def test_readme_keeps_the_two_setup_commands():
    text = (ROOT / "README.md").read_text()
    assert "bash .ci/env.sh robustdsl demo" in text and "bash .ci/env.sh python -m pytest -q" in text
    assert len(re.findall(r"^\s*bash \.ci/env\.sh", text, flags=re.M)) == 2
    assert "LICENSE-mnist2000.txt" in text and "## Results" in text
