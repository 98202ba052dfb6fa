/* cpu.c - the CPU features this machine has, against what a model library
 * needs (hy_model_desc_t.cpu_features, HY_CPU_* bits of hy_abi.h).
 *
 * x86-64: CPUID (leaves 1 and 7) and XGETBV, which says whether the OS saves
 * the YMM / ZMM state. AArch64 Linux: the kernel's HWCAP / HWCAP2 words.
 * AArch64 macOS: the hw.optional.arm.FEAT_* sysctls. Elsewhere no bit is
 * known to be present, so a library that needs any is refused. */
#include "hy_internal.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static int64_t cpu_present(void) {
  unsigned a, b, c, d;
  int64_t f = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const int ymm = avx && (xcr0 & 0x6) == 0x6;    /* SSE + AVX state */
  const int zmm = ymm && (xcr0 & 0xe0) == 0xe0;  /* opmask + ZMM state */
  if (!ymm) return 0;
  if ((c >> 12) & 1) f |= HY_CPU_FMA;
  if ((c >> 29) & 1) f |= HY_CPU_F16C;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const unsigned max_sub = a;
  if ((b >> 5) & 1) f |= HY_CPU_AVX2;
  if (!zmm) return f;
  if ((b >> 16) & 1) f |= HY_CPU_AVX512F;
  if ((b >> 17) & 1) f |= HY_CPU_AVX512DQ;
  if ((b >> 21) & 1) f |= HY_CPU_AVX512IFMA;
  if ((b >> 28) & 1) f |= HY_CPU_AVX512CD;
  if ((b >> 30) & 1) f |= HY_CPU_AVX512BW;
  if ((b >> 31) & 1) f |= HY_CPU_AVX512VL;
  if ((c >> 1) & 1) f |= HY_CPU_AVX512VBMI;
  if ((c >> 6) & 1) f |= HY_CPU_AVX512VBMI2;
  if ((c >> 11) & 1) f |= HY_CPU_AVX512VNNI;
  if ((c >> 12) & 1) f |= HY_CPU_AVX512BITALG;
  if ((c >> 14) & 1) f |= HY_CPU_AVX512VPOPCNTDQ;
  if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1))
    f |= HY_CPU_AVX512BF16;
  return f;
}

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>

/* Bit numbers of the Linux arm64 HWCAP words (arch/arm64/include/uapi/asm/
 * hwcap.h), spelled out for older headers. */
#define HY_HWCAP_ASIMDDP (1ul << 20)
#define HY_HWCAP2_I8MM (1ul << 13)
#define HY_HWCAP2_BF16 (1ul << 14)
#define HY_HWCAP2_SME2 (1ul << 37)

static int64_t cpu_present(void) {
  const unsigned long h1 = getauxval(AT_HWCAP), h2 = getauxval(AT_HWCAP2);
  int64_t f = 0;
  if (h1 & HY_HWCAP_ASIMDDP) f |= HY_CPU_ASIMDDP;
  if (h2 & HY_HWCAP2_I8MM) f |= HY_CPU_I8MM;
  if (h2 & HY_HWCAP2_BF16) f |= HY_CPU_BF16;
  if (h2 & HY_HWCAP2_SME2) f |= HY_CPU_SME2;
  return f;
}

#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>

static int sysctl_flag(const char *name) {
  int v = 0;
  size_t n = sizeof v;
  return sysctlbyname(name, &v, &n, NULL, 0) == 0 && v != 0;
}

static int64_t cpu_present(void) {
  int64_t f = 0;
  if (sysctl_flag("hw.optional.arm.FEAT_DotProd")) f |= HY_CPU_ASIMDDP;
  if (sysctl_flag("hw.optional.arm.FEAT_I8MM")) f |= HY_CPU_I8MM;
  if (sysctl_flag("hw.optional.arm.FEAT_BF16")) f |= HY_CPU_BF16;
  if (sysctl_flag("hw.optional.arm.FEAT_SME2")) f |= HY_CPU_SME2;
  return f;
}

#else
static int64_t cpu_present(void) { return 0; }
#endif

static const struct {
  int64_t bit;
  const char *name;
} kNames[] = {
    {HY_CPU_AVX2, "avx2"},
    {HY_CPU_FMA, "fma"},
    {HY_CPU_F16C, "f16c"},
    {HY_CPU_AVX512F, "avx512f"},
    {HY_CPU_AVX512CD, "avx512cd"},
    {HY_CPU_AVX512BW, "avx512bw"},
    {HY_CPU_AVX512DQ, "avx512dq"},
    {HY_CPU_AVX512VL, "avx512vl"},
    {HY_CPU_AVX512VNNI, "avx512vnni"},
    {HY_CPU_AVX512BF16, "avx512bf16"},
    {HY_CPU_AVX512VBMI, "avx512vbmi"},
    {HY_CPU_AVX512VBMI2, "avx512vbmi2"},
    {HY_CPU_AVX512BITALG, "avx512bitalg"},
    {HY_CPU_AVX512VPOPCNTDQ, "avx512vpopcntdq"},
    {HY_CPU_AVX512IFMA, "avx512ifma"},
    {HY_CPU_ASIMDDP, "asimddp"},
    {HY_CPU_I8MM, "i8mm"},
    {HY_CPU_BF16, "bf16"},
    {HY_CPU_SME2, "sme2"},
};

hy_status_t hy_check_cpu_features(int64_t needed) {
  const int64_t missing = needed & ~cpu_present();
  if (!missing) return HY_OK;
  char names[256] = "";
  size_t len = 0;
  int64_t unnamed = missing;
  for (size_t i = 0; i < sizeof kNames / sizeof kNames[0]; ++i) {
    if (!(missing & kNames[i].bit)) continue;
    unnamed &= ~kNames[i].bit;
    int n = snprintf(names + len, sizeof names - len, "%s%s", len ? " " : "",
                     kNames[i].name);
    if (n > 0 && (size_t)n < sizeof names - len) len += (size_t)n;
  }
  if (unnamed)
    snprintf(names + len, sizeof names - len, "%sbits 0x%llx", len ? " " : "",
             (unsigned long long)unnamed);
  return hy_set_error(HY_ERR_UNSUPPORTED,
                      "the model library needs CPU features this CPU lacks: %s "
                      "(compile the model for this machine, e.g. hyc compile "
                      "--target host)",
                      names);
}
