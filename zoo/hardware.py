"""What this machine's CPU computes natively, and what a run's precision costs on it.

`mixed_bfloat16` pays off only where the CPU multiplies bfloat16 in hardware
(AVX512-BF16 or AMX-BF16 on x86) or on an accelerator; elsewhere TensorFlow
emulates it. Measured with the published DCGAN recipe's networks, batch 64
(`BENCHMARKS.md`): 234 images/s bfloat16 vs ~420 float32 on an AVX-512 +
AVX512-BF16 machine, and 19 vs 163 images/s on an AVX2-only one.

Example:

>>> "avx512_bf16" in cpu_flags()          # read from /proc/cpuinfo on Linux
>>> precision_warning("mixed_bfloat16")    # None, or a one-line advice
"""

import functools

BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
REPORTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16", "amx_fp16")


@functools.lru_cache(maxsize=1)
def cpu_flags():
    """The CPU feature flags Linux reports (`/proc/cpuinfo`), as a frozenset; empty elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            for line in file:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def reported_cpu_flags():
    """The flags that decide training speed (`REPORTED_FLAGS`) this CPU has, for run records."""
    flags = cpu_flags()
    return [flag for flag in REPORTED_FLAGS if flag in flags]


def precision_warning(policy, has_accelerator=False):
    """A one-line warning when `policy` is emulated on this machine, else `None`.

    Args:
        policy: a Keras dtype policy name (`"mixed_bfloat16"`, `"mixed_float16"`) or `None`.
        has_accelerator: whether a GPU/TPU will run the model (then nothing is said).
    """
    if has_accelerator or not policy:
        return None
    flags = cpu_flags()
    if policy == "mixed_bfloat16" and flags and not flags.intersection(BFLOAT16_FLAGS):
        return (
            "mixed_precision='bfloat16' runs emulated on this CPU (no AVX512-BF16 or AMX-BF16): "
            "expect it several times slower than float32; pass --mixed-precision float32 "
            "for speed."
        )
    if policy == "mixed_float16":
        return (
            "mixed_precision='float16' is meant for GPUs; on a CPU it is emulated and slower than float32. "
            "Pass --mixed-precision float32 on CPU-only machines."
        )
    return None
