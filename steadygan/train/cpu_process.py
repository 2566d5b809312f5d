"""What a process does before it trains on the CPU: two process-wide settings of the C library
and of torch that make steps faster and runs repeatable. Both are measured in BENCHMARKS.md."""
from __future__ import annotations

import ctypes
import platform
import sys

import torch

# mallopt(3) parameters, from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def prepare_cpu_process() -> None:
    """Both, before a run on the CPU builds its models (again on every run: they are cheap)."""
    keep_freed_memory()
    settle_cpu_math()


def keep_freed_memory() -> bool:
    """Have glibc keep freed memory for the next allocation instead of handing it back.

    By default glibc serves blocks of some megabytes (a batch's activations) with fresh mappings
    or gives the top of its heap back when they are freed, and every page is faulted in again
    on the next step: 14,000 to 21,000 page faults per step at batch 128 on this project's
    CPU, and steps 6-9 % slower than without them. Peak RSS stays the same (the memory is
    needed again every step); it is just not returned between steps. Linux with glibc only:
    elsewhere nothing changes and False is returned. The setting holds for the rest of the
    process."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    # no mappings of their own for large blocks, and no trimming of the heap's top
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def settle_cpu_math() -> None:
    """Call torch's vectorized exp-family kernels once, on a few numbers.

    With torch 2.13 on this project's 2-core CPU the first exp or tanh of a process over a
    tensor of some 25,000 elements (a batch of 32 digits) computed about half of them to a
    different last bit in one process of three to eight; every later call agreed. That made
    runs with the same seed differ, so a run calls them first, where nothing depends on the
    result."""
    numbers = torch.linspace(-2.0, 2.0, 64)
    for op in (torch.exp, torch.tanh, torch.sigmoid, torch.log1p, torch.log):
        op(numbers.abs() if op in (torch.log1p, torch.log) else numbers)
