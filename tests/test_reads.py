"""Files and environment variables a body reads: found statically, hashed by content, named
without the checkout's location; computed ones warn with the function and line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import skipwise
from skipwise import inputs
from skipwise.engine import code_graph


def read_nodes(fn) -> dict[str, str]:
    """The file and environment nodes of ``fn``'s graph: key -> kind."""
    graph = code_graph(fn)
    return {k: n.kind for k, n in graph.nodes.items() if n.kind in ("file", "env")}


def no_warnings(fn) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_nodes(fn)


def test_constant_reads_become_nodes_named_without_the_checkout(make_module, tmp_path) -> None:
    module = make_module(
        "reader",
        """
        import json, os
        import numpy as np
        import pandas as pd
        import pyarrow.parquet as pq
        from os import environ, getenv
        from pathlib import Path

        BASE = Path(__file__).parent / "data"
        NAME = "rates"
        VAR = "RATE_MODE"

        def task():
            path = BASE / f"{NAME}_{2024}.csv"  # assigned once: constant
            with open(path) as handle:
                frame = pd.read_csv(handle)  # an open file, found by its open()
            a = np.load(os.path.join(os.path.dirname(__file__), "arrays", NAME + ".npy"))
            b = pq.read_table(str(BASE.parent / "table.parquet"))
            c = json.load(open("config/app.json", encoding="utf-8"))
            d = Path("notes.md").read_text()
            with open("out.txt", "w") as out:  # written, not read
                out.write("x")
            return (frame, a, b, c, d, os.environ[VAR], environ.get("REGION"),
                    getenv("DEBUG", "0"), "TOKEN" in os.environ)
        """,
    )
    assert no_warnings(module.task) == {
        "file:<checkout>/data/rates_2024.csv": "file",
        "file:<checkout>/arrays/rates.npy": "file",
        "file:<checkout>/table.parquet": "file",
        "file:config/app.json": "file",
        "file:notes.md": "file",
        "env:RATE_MODE": "env",
        "env:REGION": "env",
        "env:DEBUG": "env",
        "env:TOKEN": "env",
    }
    assert str(tmp_path) not in json.dumps(code_graph(module.task).to_dict())


def test_content_and_values_change_the_signature(make_module, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RATE_MODE", raising=False)
    module = make_module(
        "rates_job",
        """
        import os
        from pathlib import Path

        def task(x):
            return Path("rates.csv").read_text(), os.getenv("RATE_MODE"), x
        """,
    )
    job = skipwise.cached(module.task)
    missing = job.signature(1)
    Path("rates.csv").write_text("a\n1\n")
    present = job.signature(1)
    assert present != missing  # a file that appears counts
    assert job(1)[0] == "a\n1\n"
    os.utime("rates.csv", (1, 1))  # touched, same content
    assert job.signature(1) == present and job.run(1).status == "reused"
    Path("rates.csv").write_text("a\n2\n")
    outcome = job.run(1)
    assert outcome.status == "computed" and outcome.reason == "file rates.csv changed"
    monkeypatch.setenv("RATE_MODE", "daily")
    outcome = job.run(1)
    assert outcome.reason == "environment variable RATE_MODE changed"
    monkeypatch.setenv("UNRELATED", "1")
    assert job.run(1).status == "reused"
    tree = json.dumps(job.tree(1).to_dict())
    assert "daily" not in tree  # a variable's value enters by digest only, never as text


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("return open(path).read()", "a file read with a computed path (open(path))"),
        ("return pd.read_csv(path)", "a file read with a computed path (pd.read_csv(path))"),
        ("return Path(path).read_text()", "a file read with a computed path"),
        ('return pd.read_csv("s3://bucket/x.csv")', "a read of remote data"),
        ("return os.environ[path]", "an environment variable with a computed name"),
        ("return os.getenv(path.upper())", "an environment variable with a computed name"),
        (
            'name = "a.csv"\nname = path\nreturn open(name).read()',
            "a file read with a computed path",
        ),
        (  # bound in a nested function only: not this function's constant
            'def inner():\n    nested = "a.csv"\nreturn open(nested).read()',
            "a file read with a computed path",
        ),
    ],
)
def test_computed_reads_warn_with_function_and_line(make_module, body, what) -> None:
    indented = ("\n" + " " * 12).join(body.split("\n"))
    module = make_module(
        "computed",
        f"""
        import os
        from pathlib import Path

        import pandas as pd

        def load(path):
            {indented}
        """,
    )
    with pytest.warns(skipwise.SkipwiseWarning) as record:
        skipwise.signature(module.load, "x")
    messages = [str(w.message) for w in record]
    line = 8 + body.count("\n")
    expected = f"line {line}: {what}"
    assert any(expected in m and "in computed:load (computed)" in m for m in messages), messages
    assert all("depends_on=[skipwise.File(PATH), skipwise.Env(NAME)]" in m for m in messages)
    # Declaring what it reads silences the warning (and the declaration counts).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        skipwise.cached(module.load, depends_on=[skipwise.File("x")]).signature("x")


def test_streams_writes_and_descriptors_are_not_reads(make_module) -> None:
    module = make_module(
        "streams",
        """
        import gzip, io, os
        import pandas as pd

        def task(data):
            frame = pd.read_csv(io.StringIO(data))
            handle = open(3)  # a file descriptor
            with gzip.open("archive.gz", "wt") as out:
                out.write(data)
            with open(os.environ["CALL_LOG"], "a") as log:  # where output goes is no input
                log.write(data)
            with open("/proc/self/status") as status:  # the process, not data
                status.read()
            return frame, pd.read_csv(handle)
        """,
    )
    assert no_warnings(module.task) == {}


def test_declared_inputs_glob_directory_and_env(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCOPE", "read")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.csv").write_text("1")

    @skipwise.cached(depends_on=[skipwise.File("inbox/*.csv"), skipwise.Env("SCOPE")])
    def declared(x):
        return x

    first = declared.signature(1)
    (tmp_path / "inbox" / "b.txt").write_text("not matched")
    assert declared.signature(1) == first
    (tmp_path / "inbox" / "b.csv").write_text("2")
    second = declared.signature(1)
    assert second != first
    monkeypatch.delenv("SCOPE")
    assert declared.signature(1) not in (first, second)
    with pytest.raises(TypeError, match="variable name"):
        skipwise.Env("")


def test_a_rewrite_keeping_size_and_mtime_is_seen(tmp_path) -> None:
    """The stat cache keys on ctime too, which no write can keep; mtime can be set back."""
    path = tmp_path / "data.bin"
    path.write_bytes(b"aaaa")
    os.utime(path, ns=(10**18, 10**18))  # old enough to be remembered
    before = inputs.file_content(str(path))
    path.write_bytes(b"bbbb")
    os.utime(path, ns=(10**18, 10**18))
    assert inputs.file_content(str(path)) != before


def test_path_arguments_count_by_name_and_content(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    @skipwise.cached
    def size(path):
        with path.open() as handle:
            return len(handle.read())

    data = tmp_path / "a.csv"
    data.write_text("1\n")
    (tmp_path / "b.csv").write_text("1\n")
    before = size.signature(Path("a.csv"))
    assert size.signature(Path("b.csv")) != before  # same content, another name
    assert size.signature(Path("a.csv")) == before
    data.write_text("2\n")
    assert size.signature(Path("a.csv")) != before
    assert size.signature("a.csv") == size.signature("a.csv")  # a str is text
    data.write_text("3\n")
    text = size.signature("a.csv")
    data.write_text("4\n")
    assert size.signature("a.csv") == text
    # A directory: its files' names and contents.
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "x.csv").write_text("1")
    listing = size.signature(Path("folder"))
    (folder / "sub").mkdir()
    (folder / "sub" / "y.csv").write_text("1")
    assert size.signature(Path("folder")) != listing
    # A missing path: its text, until it appears.
    missing = size.signature(Path("later.csv"))
    assert size.signature(Path("later.csv")) == missing
    (tmp_path / "later.csv").write_text("")
    assert size.signature(Path("later.csv")) != missing


def test_plan_says_which_file_changed(tmp_path) -> None:
    job = tmp_path / "job.py"
    job.write_text(
        "from pathlib import Path\n\nimport skipwise\n\n\n"
        "@skipwise.cached\ndef rates():\n    return Path('rates.csv').read_text()\n\n\nrates()\n"
    )
    (tmp_path / "rates.csv").write_text("1\n")
    env = {**os.environ, "SKIPWISE_STORE": str(tmp_path / "store")}

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(sys.executable, "job.py")
    (tmp_path / "rates.csv").write_text("2\n")
    items = json.loads(run(sys.executable, "-m", "skipwise.cli", "plan", "job.py", "-f", "json"))
    (item,) = items["items"]
    assert (item["status"], item["cause"]) == ("rerun-input", "file rates.csv changed")
