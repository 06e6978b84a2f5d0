"""The .web/ build lock: the browser tiers (tests/deploy.py) and the load benchmark (bench/load.py)
build and serve the same checkout's .web/, so they must take one lock, not two."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `bench` lives at the project root

import deploy  # noqa: E402
from bench import load  # noqa: E402


def test_the_benchmark_waits_for_the_lock_a_browser_tier_holds_and_gives_up_with_a_reason(tmp_path):
    with deploy.build_lock(root=tmp_path):
        with pytest.raises(RuntimeError) as err:  # a LaunchError of bench's own import of tests/deploy.py
            with load.build_lock(0.3, root=tmp_path):
                pass
    assert "web-build.lock" in str(err.value)
    with load.build_lock(0.3, root=tmp_path):  # released: free again
        pass
