"""Which pipeline instance a call runs in (decided in one place, ``config.instance``), how an
instance derives its inputs, how bad instance names are refused, and ``skipwise ls/plan
--instance``."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import skipwise
from skipwise import config
from skipwise.errors import InvalidInstance
from skipwise.host import Step, StepOptions, using_instance

SKIPWISE = [sys.executable, "-m", "skipwise.cli"]


def load(limit: int = 100, *, shuffle: bool = False) -> list[int]:
    return list(range(limit))


def test_the_run_beats_configure_which_beats_the_environment(monkeypatch) -> None:
    assert config.instance() is None and config.instance_name() == ""
    monkeypatch.setenv("SKIPWISE_INSTANCE", "midi")
    assert config.instance_name() == "midi"
    skipwise.configure(instance="full")
    assert config.instance_name() == "full"
    with using_instance("mini"):
        assert config.instance_name() == "mini"
        with using_instance(None):  # a host with no instance for this run: the configured one
            assert config.instance_name() == "full"
    assert config.instance_name() == "full"
    skipwise.configure(instance="")  # back to the environment's
    assert config.instance_name() == "midi"


def test_bad_instance_names_are_refused_naming_the_value(monkeypatch) -> None:
    for bad in ("Full", "mini-x", "mini__x", "_x", "1x", "a" * 31, "public", "skipwise", "pg_x"):
        with pytest.raises(InvalidInstance, match=f"invalid instance name '{bad}'"):
            skipwise.configure(instance=bad)
    with pytest.raises(InvalidInstance, match="must be an instance name"):
        skipwise.configure(instance=3)  # type: ignore[arg-type]
    monkeypatch.setenv("SKIPWISE_INSTANCE", "../x")
    with pytest.raises(InvalidInstance, match=r"SKIPWISE_INSTANCE: invalid instance name '\.\./x'"):
        config.instance()
    with pytest.raises(InvalidInstance, match="DAG param 'p': invalid instance name 'x y'"):
        using_instance("x y", "DAG param 'p'").__enter__()


def test_user_and_branch_are_filled_in(tmp_path: Path, monkeypatch) -> None:
    user = "".join(c if c.isalnum() else "_" for c in getpass.getuser().lower()).strip("_")
    skipwise.configure(instance="mini_{user}")
    assert config.instance_name() == f"mini_{user}"[: len("mini_") + 20]
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "Feature/Fast-Path"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    monkeypatch.chdir(repo)
    skipwise.configure(instance="{branch}")
    assert config.instance_name() == "feature_fast_path"
    with pytest.raises(InvalidInstance, match=r"instance name '\{user\};' as 'x;'"):
        skipwise.Instance("{user};")
    monkeypatch.chdir(tmp_path)  # not a git checkout
    with pytest.raises(InvalidInstance, match="not on a git branch"):
        config.instance_name()


def test_an_instance_derives_the_arguments_it_names() -> None:
    step = Step(load, StepOptions(name="loads"))
    skipwise.Instance("tiny", derive={"loads": lambda args: {"limit": args["limit"] // 10}})
    assert step.derive((), {}) == ((), {})  # the unnamed instance derives nothing
    with using_instance("tiny"):
        assert step.derive((), {}) == ((), {"limit": 10})
        assert step.derive((50,), {"shuffle": True}) == ((5,), {"shuffle": True})
        # What is derived is what is signed: the same as a call with the derived arguments.
        assert step.sign(*step.derive((), {})).signature == step.sign((10,)).signature
        other = Step(load, StepOptions(name="other"))
        assert other.derive((), {}) == ((), {})
    with using_instance("plain"):  # declared nowhere: derives nothing
        assert step.derive((), {}) == ((), {})


def test_a_derivation_that_names_no_parameter_says_so() -> None:
    step = Step(load, StepOptions(name="loads"))
    skipwise.Instance("typo", derive={"loads": lambda args: {"limt": 1}})
    skipwise.Instance("notmap", derive={"loads": lambda args: 1})
    with using_instance("typo"), pytest.raises(TypeError, match=r"replaced \['limt'\]"):
        step.derive((), {})
    with using_instance("notmap"), pytest.raises(TypeError, match="must return a mapping"):
        step.derive((), {})
    with pytest.raises(TypeError, match="is not a function"):
        skipwise.Instance("bad", derive={"loads": 3})  # type: ignore[dict-item]


PIPELINE = """
import skipwise

@skipwise.cached(name="rows")
def rows(limit: int = 30):
    return list(range(limit))

@skipwise.cached(name="total")
def total(rows):
    return sum(rows)

skipwise.Instance("mini", derive={"rows": lambda args: {"limit": 3}})
total(rows())
"""


def _cli(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKIPWISE_STORE": str(project / ".skipwise"), "COLUMNS": "200"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=check)


def test_ls_and_plan_show_the_instance(tmp_path: Path) -> None:
    (tmp_path / "pipe.py").write_text(PIPELINE)
    _cli(tmp_path, sys.executable, "pipe.py")
    env_mini = ["env", "SKIPWISE_INSTANCE=mini", sys.executable, "pipe.py"]
    _cli(tmp_path, *env_mini)

    everything = _cli(tmp_path, *SKIPWISE, "ls").stdout
    assert "every instance" in everything
    rows = [line for line in everything.splitlines() if " rows " in f" {line} "]
    assert len(rows) == 2 and any("(unnamed)" in r for r in rows) and any("mini" in r for r in rows)
    mini = _cli(tmp_path, *SKIPWISE, "ls", "--instance", "mini").stdout
    assert "instance mini" in mini and "(unnamed)" not in mini

    plan = json.loads(
        _cli(tmp_path, *SKIPWISE, "plan", "pipe.py", "-f", "json", "-i", "mini").stdout
    )
    assert plan["instance"] == "mini"
    assert {i["name"]: i["status"] for i in plan["items"]} == {"rows": "reuse", "total": "reuse"}
    # An instance that never ran has nothing under these names yet.
    fresh = json.loads(
        _cli(tmp_path, *SKIPWISE, "plan", "pipe.py", "-f", "json", "-i", "dev").stdout
    )
    assert fresh["instance"] == "dev"
    assert {i["name"]: i["status"] for i in fresh["items"]} == {"rows": "reuse", "total": "reuse"}
    table = _cli(tmp_path, *SKIPWISE, "plan", "pipe.py", "--instance", "mini").stdout
    assert "instance: mini" in table

    bad = _cli(tmp_path, *SKIPWISE, "ls", "--instance", "Bad;x", check=False)
    assert bad.returncode == 2
    assert "invalid instance name 'Bad;x'" in bad.stderr and "Traceback" not in bad.stderr
