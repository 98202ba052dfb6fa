"""What this machine's CPU can run, for tests that must skip (exit code 77,
ctest's SKIP_RETURN_CODE) rather than die of an illegal instruction.

The x86-64-avx512 kernels are generated for Halide's avx512_zen4 feature set;
`hyc compile --target host` picks them only when the CPU has all of it
(targets/common/Targets.cpp), and the runtime refuses a library whose
features the CPU lacks (hy_model_desc_t.cpu_features).
"""
import platform

SKIP = 77

# /proc/cpuinfo's names of the avx512_zen4 features (plus AVX2, FMA, F16C).
AVX512_ZEN4 = ["avx2", "fma", "f16c", "avx512f", "avx512cd", "avx512bw", "avx512dq",
               "avx512vl", "avx512_vnni", "avx512_bf16", "avx512vbmi", "avx512_vbmi2",
               "avx512_bitalg", "avx512_vpopcntdq", "avx512ifma"]


def cpu_flags():
    """The flags of the first CPU in /proc/cpuinfo (empty off Linux x86)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def missing_avx512():
    """The avx512_zen4 features this CPU lacks ([] when it runs the avx512 kernels)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return ["x86-64"]
    flags = cpu_flags()
    return [f for f in AVX512_ZEN4 if f not in flags]
