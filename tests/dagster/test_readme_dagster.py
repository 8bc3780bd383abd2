"""The README's Dagster example runs as written, in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_dagster_example_runs(tmp_path: Path) -> None:
    section = README.read_text().split("## Dagster\n", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "README's Dagster section has a python example"
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    env = {k: v for k, v in os.environ.items() if k != "SKIPWISE_STORE"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["computed", "reused"]
    assert (tmp_path / ".skipwise" / "objects").is_dir()
