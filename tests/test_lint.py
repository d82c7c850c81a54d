"""The code is clean by ruff's rules (configured in pyproject.toml): run from the repository root, on everything."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format=concise", "."]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, ("ruff check . found problems (fix them, or `ruff check --fix .`):\n"
                                    f"{result.stdout}{result.stderr}")
