"""The load bench makes its shoppers with a script it runs in the app's checkout
(``bench/load.py``: MAKE_SHOPPERS). Code in a string is invisible to every other test and to a
refactoring tool, so it is run here once, as the bench runs it, on a migrated demo database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from load import MAKE_SHOPPERS, PASSWORD  # noqa: E402


def test_the_bench_makes_its_shoppers(tmp_path):
    env = {**os.environ, "REFLEX_DB_URL": f"sqlite:///{tmp_path / 'bench.db'}", "BNPL_DEMO": "1"}
    for args in (["migrate"], ["seed-demo"]):
        done = subprocess.run([sys.executable, "-m", "bnpl_app", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-c", MAKE_SHOPPERS, "t_", "2", PASSWORD], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout.strip().splitlines()[-1])
    assert made["users"] == ["t_0", "t_1"] and "3" in made["plans"] and made["product_id"] > 0
