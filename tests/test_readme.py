"""The README's example runs as written, in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(tmp_path: Path) -> None:
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README has a python example"
    script = tmp_path / "example.py"
    script.write_text(block.group(1) + "\nassert clean.run(trips).status == 'reused'\n")
    env = {k: v for k, v in os.environ.items() if k != "SKIPWISE_STORE"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == lines[1] and "mean_per_km" in lines[0]
    assert (tmp_path / ".skipwise" / "objects").is_dir()  # the embedded default store
