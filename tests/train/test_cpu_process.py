"""The CPU process's preparation for training: memory kept for reuse, math kernels settled.
Both settings hold for a whole process, so each test runs its own."""
import os
import platform
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT

ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "2"}

FAULTS = """
import resource, torch
from steadygan.train.cpu_process import keep_freed_memory
def page_faults_per_block():
    for _ in range(3):  # 40 MiB, freed at once: beyond what glibc ever keeps by default
        torch.ones(10 * 2**20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        torch.ones(10 * 2**20)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
default = page_faults_per_block()
print(default, keep_freed_memory(), page_faults_per_block())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's allocator only")
def test_freed_memory_is_reused_without_faulting_its_pages_in_again():
    out = subprocess.run([sys.executable, "-c", FAULTS], env=ENV, check=True, capture_output=True,
                         text=True, timeout=120).stdout.split()
    default, applied, kept = float(out[0]), out[1], float(out[2])
    assert applied == "True"
    assert default >= 10_000  # 40 MiB of 4 KiB pages, mapped afresh every time
    # kept: glibc's heap grows by a block or two more, once, and then serves every block from
    # memory it kept: 0 faults in 31 of 60 processes here, 1 or 2 fresh blocks of the 20 in the
    # others. (Measuring 5 blocks, 2 fresh ones of them failed this bound in 15 of 40.)
    assert kept <= default / 4


FIRST_EXP = """
import hashlib, sys, torch
from steadygan.train.cpu_process import settle_cpu_math
if sys.argv[1] == "settle":
    settle_cpu_math()
x = torch.randn(32 * 784, generator=torch.Generator().manual_seed(0)) * 3  # a batch of digits
print(hashlib.md5(torch.exp(x).numpy().tobytes()).hexdigest())
"""


def test_a_process_s_first_exp_agrees_with_every_other_once_settled():
    """Unsettled, the first exp of a process differed in the last bit in 5 of 16 processes run
    one after another here (torch 2.13, 2 threads; none of 12 run side by side), and with it a
    whole seeded run. One after another, then: 10 unsettled would all agree 2 % of the time."""
    outputs = {subprocess.run([sys.executable, "-c", FIRST_EXP, "settle"], env=ENV, check=True,
                              capture_output=True, text=True, timeout=120).stdout.strip()
               for _ in range(10)}
    assert len(outputs) == 1
