"""`standin serve`'s collector policy keeps memory flat while records come and go (bench/memory.py).

The fast mode freezes what survives full collections; a record that held a reference cycle and
was frozen while alive would stay until a reset without the policy's periodic thaw. Run in a
subprocess: the policy changes the interpreter's collector."""

from __future__ import annotations

import subprocess
import sys

import pytest

CYCLES = "400000"  # the 1,000,000-cycle figures are in docs/performance.md


@pytest.mark.parametrize(("variant", "flat"), [([], True), (["--thaw-every", "0"], False)])
def test_memory_stays_flat_over_create_delete_cycles(variant, flat):
    """With the thaw (the policy as served) memory is flat; without it (the broken variant) it grows."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--cycles", CYCLES, *variant],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (run.returncode == 0) is flat, run.stdout + run.stderr
