//===- Targets.h - what hyc can compile for, and how --------------------===//
#ifndef HYC_TARGETS_COMMON_TARGETS_H
#define HYC_TARGETS_COMMON_TARGETS_H

#include <cstdint>
#include <string>
#include <vector>

namespace hyc {

/// What the compiled code runs on.
struct TargetInfo {
  std::string name;      ///< as given on the command line (after host resolution)
  std::string triple;    ///< LLVM target triple
  std::string cpu;       ///< LLVM CPU name
  std::string features;  ///< LLVM feature string
  std::string kernelIsa; ///< suffix of the kernels the glue calls (avx2, avx512, neon)
  std::string kernelArchive; ///< kernel library whose members join the output
  std::string linker;    ///< C compiler driver that links the shared library ("": none is built)
  /// Operating system of the output: "linux" (ELF: a static archive and a
  /// shared library) or "macos" (Mach-O: a static archive only, linked into
  /// the app on the Mac).
  std::string os;
  /// C compiler driver and flags that assemble for this target (the
  /// --embed-weights object); an empty assembler means `linker`.
  std::string assembler;
  std::vector<std::string> assemblerFlags;
  /// The target name tuning database entries are looked up under: `name`,
  /// except that the macOS targets use their Linux namesake's (the same
  /// kernels, tuned on the same chip under Linux).
  std::string tuningName;
  /// Precision of the activations fed to the 2-bit matmuls: "int8" (rounded
  /// to int8 with a scale per 32, kernel families *_q2_0c_a8) or "f32"
  /// (float32 math). resolveTarget sets the target's default;
  /// setActivations applies `hyc compile --activations`.
  std::string activations;
  /// CPU features the output's code needs (HY_CPU_* bits of hy/hy_abi.h),
  /// recorded in hy_model_desc_t.cpu_features: the runtime refuses to open
  /// the model on a CPU that lacks one.
  int64_t cpuFeatures = 0;
};

/// Resolves a --target name (host, x86-64-avx2, x86-64-avx512, aarch64-neon,
/// aarch64-sme2, aarch64-neon-macos, aarch64-sme2-macos).
bool resolveTarget(const std::string &name, TargetInfo &out, std::string &error);

/// Applies a requested activation precision ("int8", "f32" or "" for the
/// target's default) to `target`; an error names what the target supports.
bool setActivations(const std::string &requested, TargetInfo &target, std::string &error);

/// The Halide generator (schedules/) that implements kernel family `family`
/// (e.g. gemv_q2_0c, the name in the tuning database and the manifest) for
/// kernel ISA `isa` (TargetInfo::kernelIsa). The compiler regenerates tuned
/// variants with it and `hyc tune` searches its GeneratorParams.
std::string kernelGenerator(const std::string &family, const std::string &isa);

/// GeneratorParams that are part of family `family` itself rather than of a
/// schedule (e.g. attention_decode_f16 -> k.type=float16, v.type=float16),
/// given to its generator before any schedule's.
std::vector<std::string> kernelGeneratorParams(const std::string &family);

} // namespace hyc

#endif // HYC_TARGETS_COMMON_TARGETS_H
