//===- Targets.cpp - --target names to LLVM triples, CPUs and kernels ----===//
#include "targets/common/Targets.h"

#include "hy/hy_abi.h"

#include "llvm/TargetParser/Host.h"
#include "llvm/ADT/StringMap.h"

#ifndef HYC_CLANG
#error "HYC_CLANG must name the clang that assembles for the macOS targets"
#endif

#ifndef HYC_KERNEL_LIB_DIR
#error "HYC_KERNEL_LIB_DIR must name the directory of the kernel archives"
#endif

using namespace hyc;

bool hyc::resolveTarget(const std::string &requested, TargetInfo &out,
                        std::string &error) {
  std::string name = requested;
  if (name == "host") {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    // The avx512 kernels are generated for Halide's avx512_zen4 feature set
    // (schedules/CMakeLists.txt): ask for all of it.
    bool avx512 = true;
    for (const char *f : {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
                          "avx512vnni", "avx512bf16", "avx512vbmi", "avx512vbmi2",
                          "avx512bitalg", "avx512vpopcntdq", "avx512ifma"})
      avx512 = avx512 && features.lookup(f);
    if (avx512)
      name = "x86-64-avx512";
    else if (features.lookup("avx2") && features.lookup("fma") &&
             features.lookup("f16c"))
      name = "x86-64-avx2";
    else {
      error = "the host CPU has neither Zen 4-class AVX-512 (F, BW, DQ, VL, VNNI, BF16, "
              "VBMI, ...) nor AVX2+FMA+F16C; "
              "hyc has no kernels for it yet";
      return false;
    }
  }
  out = TargetInfo();
  out.name = name;
  out.tuningName = name;
  out.triple = "x86_64-unknown-linux-gnu";
  out.kernelArchive = std::string(HYC_KERNEL_LIB_DIR) + "/libhyk_x86.a";
  out.linker = "cc";
  out.os = "linux";
  out.activations = "f32";
  if (name == "x86-64-avx2") {
    out.cpu = "haswell";
    out.features = "+avx2,+fma,+f16c";
    out.kernelIsa = "avx2";
    // Int8 activations by default here too: the Q2_0C GEMV on vpmaddubsw
    // streams 5x faster than the float one, which is compute-bound.
    out.activations = "int8";
    out.cpuFeatures = HY_CPU_AVX2 | HY_CPU_FMA | HY_CPU_F16C;
    return true;
  }
  if (name == "x86-64-avx512") {
    out.cpu = "skylake-avx512";
    out.features = "+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512vnni,+fma,+f16c";
    out.kernelIsa = "avx512";
    // The Zen 4-class set the avx512 kernels are generated for (as `host`
    // asks of the CPU above).
    out.cpuFeatures = HY_CPU_AVX2 | HY_CPU_FMA | HY_CPU_F16C | HY_CPU_AVX512F |
                      HY_CPU_AVX512CD | HY_CPU_AVX512BW | HY_CPU_AVX512DQ | HY_CPU_AVX512VL |
                      HY_CPU_AVX512VNNI | HY_CPU_AVX512BF16 | HY_CPU_AVX512VBMI |
                      HY_CPU_AVX512VBMI2 | HY_CPU_AVX512BITALG | HY_CPU_AVX512VPOPCNTDQ |
                      HY_CPU_AVX512IFMA;
    // Int8 activations by default where VNNI makes them pay (3x fewer dot
    // products than the 24-bit form, which is compute-bound on decode).
    out.activations = "int8";
    return true;
  }
  if (name == "aarch64-neon") {
    // ARMv8.2-A with the dot product extension (sdot), the baseline of the
    // neon kernels: Cortex-A55/A76 and later phones, Neoverse N1 servers,
    // Apple M1 and later. The glue is tuned for an A76-class core.
    out.triple = "aarch64-unknown-linux-gnu";
    out.cpu = "cortex-a76";
    out.features = "+neon,+dotprod";
    out.kernelIsa = "neon";
    out.cpuFeatures = HY_CPU_ASIMDDP;
    out.kernelArchive = std::string(HYC_KERNEL_LIB_DIR) + "/libhyk_arm64.a";
    // Debian's cross gcc driver (gcc-aarch64-linux-gnu) knows the aarch64
    // sysroot's crt files and libc.
    out.linker = "aarch64-linux-gnu-gcc";
    return true;
  }
  if (name == "aarch64-sme2") {
    // ARMv9.2-A with SME2 (Apple M4, Arm C1 / Lumex-class phone cores): the
    // Q2_0C matmuls are the SME2 kernels (LUTI2, ZA-array SDOT, SMOPA in
    // streaming mode, schedules/sme2/), the rest the neon Halide pipelines and
    // NEON glue, which every SME2 CPU also runs.
    out.triple = "aarch64-unknown-linux-gnu";
    out.cpu = "generic";
    // No SVE: the Apple M4 has SME2 (streaming SVE) but no SVE outside
    // streaming mode, and the glue must not be vectorized with it.
    out.features = "+v8.7a,+neon,+dotprod,+i8mm,+bf16,+sme2";
    out.kernelIsa = "sme2";
    out.cpuFeatures = HY_CPU_ASIMDDP | HY_CPU_I8MM | HY_CPU_BF16 | HY_CPU_SME2;
    out.kernelArchive = std::string(HYC_KERNEL_LIB_DIR) + "/libhyk_sme2.a";
    out.linker = "aarch64-linux-gnu-gcc";
    return true;
  }
  if (name == "aarch64-neon-macos" || name == "aarch64-sme2-macos") {
    // Apple silicon under macOS: Mach-O objects in a static archive that the
    // app links on the Mac with the runtime (Apple's toolchain and SDK live
    // there, so no shared library is linked here). The kernels are the same
    // sources as the Linux targets', built for Darwin (libhyk_*_macos.a).
    out.os = "macos";
    out.linker.clear();
    out.kernelIsa = name == "aarch64-neon-macos" ? "neon" : "sme2";
    out.cpuFeatures = out.kernelIsa == "neon"
                          ? HY_CPU_ASIMDDP
                          : HY_CPU_ASIMDDP | HY_CPU_I8MM | HY_CPU_BF16 | HY_CPU_SME2;
    if (out.kernelIsa == "neon") {
      // M1 and later: NEON with the dot product extension.
      out.triple = "arm64-apple-macosx14.0.0";
      out.cpu = "apple-m1";
      out.features = "+neon,+dotprod";
      out.kernelArchive = std::string(HYC_KERNEL_LIB_DIR) + "/libhyk_arm64_macos.a";
    } else {
      // M4: SME2 with a 512-bit streaming vector length, and no SVE outside
      // streaming mode (apple-m4 enables none). macOS 15 is the first with
      // SME for applications.
      out.triple = "arm64-apple-macosx15.0.0";
      out.cpu = "apple-m4";
      out.features = "+neon,+dotprod,+i8mm,+bf16,+sme2";
      out.kernelArchive = std::string(HYC_KERNEL_LIB_DIR) + "/libhyk_sme2_macos.a";
    }
    out.assembler = HYC_CLANG;
    out.assemblerFlags = {"--target=" + out.triple};
    out.tuningName = out.kernelIsa == "neon" ? "aarch64-neon" : "aarch64-sme2";
    return true;
  }
  error = "unknown target '" + requested +
          "' (expected host, x86-64-avx2, x86-64-avx512, aarch64-neon, aarch64-sme2, "
          "aarch64-neon-macos or aarch64-sme2-macos)";
  return false;
}

bool hyc::setActivations(const std::string &requested, TargetInfo &target,
                         std::string &error) {
  if (requested.empty())
    return true;
  if (requested != "int8" && requested != "f32") {
    error = "unknown --activations '" + requested + "' (expected int8 or f32)";
    return false;
  }
  if (requested == "int8" && target.kernelIsa != "avx512" && target.kernelIsa != "avx2") {
    error = "--activations int8 needs the int8-activation kernels, which exist for "
            "x86-64-avx2 and x86-64-avx512 only (target '" + target.name +
            "' has f32 activations)";
    return false;
  }
  target.activations = requested;
  return true;
}

std::string hyc::kernelGenerator(const std::string &family, const std::string &isa) {
  // AArch64 runs the int8 dot-product forms (sdot); AVX-512 the VNNI form of
  // the 2-bit GEMV; everything else the float forms. The sme2 ISA's Halide
  // kernels are the neon ones (its SME2 kernels are not Halide's).
  if (family == "gemv_q2_k" || family == "gemv_tq2_0")
    return family; // ggml's 2-bit formats: the float GEMVs on every ISA
  // Attention: one generator per form, the cache type a parameter
  // (kernelGeneratorParams); the pointwise ops: their own generators.
  for (const char *form : {"attention_decode", "attention_prefill"})
    if (llvm::StringRef(family).starts_with(std::string(form) + "_"))
      return form;
  if (family == "rms_norm" || family == "rope" || family == "swiglu" ||
      family == "quantize" || family == "rms_norm_quantize")
    return family;
  if (isa == "neon" || isa == "sme2")
    return family + "_i8dot";
  // A tuned gemv_q2_0c_a8 / gemm_q2_0c_a8 reads the activations the compiled
  // code quantized beforehand (lowbit.quantize / rms_norm_quantize), as its
  // default does.
  // On avx2 the same generators build the products on vpmaddubsw
  // (Q2_0CVnni.h, kDotMaddubs).
  if ((isa == "avx512" || isa == "avx2") &&
      (family == "gemv_q2_0c_a8" || family == "gemm_q2_0c_a8"))
    return family + "q_vnni";
  if ((isa == "avx512" && (family == "gemv_q2_0c" || family == "gemm_q2_0c")) ||
      ((isa == "avx512" || isa == "avx2") && family == "gemv_q8_0_a8"))
    return family + "_vnni";
  return family;
}

std::vector<std::string> hyc::kernelGeneratorParams(const std::string &family) {
  // attention_{decode,prefill}_{f32,f16,q8_0}: the KV cache's element type.
  llvm::StringRef f(family);
  if (!f.consume_front("attention_decode_") && !f.consume_front("attention_prefill_"))
    return {};
  std::string type = f == "f32" ? "float32" : f == "f16" ? "float16" : f == "q8_0" ? "uint8" : "";
  if (type.empty())
    return {};
  return {"k.type=" + type, "v.type=" + type};
}
