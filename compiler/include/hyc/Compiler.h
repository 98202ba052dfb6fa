//===- Compiler.h - hyc's compile pipeline: model -> MLIR -> object -> library ===//
#ifndef HYC_COMPILER_H
#define HYC_COMPILER_H

#include "hyc/ModelImport.h"
#include "targets/common/Targets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <string>
#include <vector>

namespace hyc {

/// Element type of the KV cache (`hyc compile --kv-cache`). Q8_0: ggml's
/// Q8_0 blocks (an fp16 step d, then 32 int8 q; element = d q) along each
/// cache row, 34 bytes per 32 elements.
enum class KvCache { F16, F32, Q8_0 };

/// "f16" / "f32" / "q8_0".
const char *kvCacheName(KvCache kv);

/// Bytes of one cache row of `elements` elements (a multiple of 32 for Q8_0).
int64_t kvRowBytes(KvCache kv, int64_t elements);

/// Parses `hyc compile --kv-cache` ("f16", "f32" or "q8_0"); false with
/// `error` set otherwise.
bool parseKvCache(const std::string &text, KvCache &kv, std::string &error);

/// The sizes the compiled decode step was planned with.
struct MemoryPlan {
  int64_t context = 0;
  int64_t arenaBytes = 0;
  int64_t kvBytes = 0;
  KvCache kvCache = KvCache::F16;
};

/// Builds the lowbit-level module of one decode step of the whole model:
/// `hy_<name>_decode(weights, arena, kv, token, pos, logits) -> i32`, with a
/// KV cache of `context` positions of `kv` elements.
mlir::OwningOpRef<mlir::ModuleOp>
buildDecodeModule(mlir::MLIRContext &ctx, const ImportedModel &model,
                  const std::string &name, int64_t context, KvCache kv,
                  MemoryPlan &plan);

/// ABI version of the emitted code (HY_ABI_VERSION in runtime/include/hy/hy_abi.h).
constexpr int64_t kAbiVersion = 1;

/// Adds the exported constant `hy_<name>_desc` (an hy_model_desc_t); call it
/// once `plan` is complete (its arenaBytes comes from lowerToLLVMDialect).
/// `cpuFeatures`: the HY_CPU_* bits the code needs (TargetInfo::cpuFeatures).
void addModelDescriptor(mlir::ModuleOp module, const std::string &name,
                        const ImportedModel &model, const MemoryPlan &plan,
                        uint64_t weightsHash, int64_t cpuFeatures);

/// Registers every dialect and translation the pipeline needs.
void registerCompilerDialects(mlir::MLIRContext &ctx);

/// A kernel regenerated with a tuned schedule (from the tuning database).
struct KernelVariant {
  std::string kernel;   ///< generator name, e.g. gemv_q2_0c
  std::string schedule; ///< "name=value,..." GeneratorParams
  std::string symbol;   ///< the generated pipeline's function name
};

/// Every matmul's kernel and schedule, for the manifest.
struct KernelUse {
  std::string kernel, schedule;
  int64_t n = 0, k = 0;
  int64_t m = 1;      ///< activation rows per call (a GEMM: the prefill chunk)
  std::string layout; ///< the weights' layout, e.g. "q2_0c" or "q2_0c/r8"; "" for no weights
  int64_t kvHeads = 0; ///< attention: the KV heads (0 for every other kernel)
};

/// A byte range of the weights blob that lowbit-pack-weights gave a
/// target-repacked layout: the driver converts it when writing the blob.
struct RepackedRange {
  int64_t offset = 0, bytes = 0, rowBytes = 0, tileRows = 0;
};

/// What lowerToLLVMDialect decided, for the driver.
struct LoweredModule {
  std::vector<KernelVariant> variants; ///< distinct tuned kernels the code calls
  std::vector<KernelUse> uses;         ///< every matmul's choice
  int64_t arenaBytes = 0;              ///< the activation arena (lowbit-plan-memory)
  std::vector<RepackedRange> repacked; ///< blob ranges in a target layout
};

/// The first phase of lowerToLLVMDialect: verifies the module, fuses
/// matmuls (lowbit-fuse-matmuls), selects each matmul's kernel and schedule
/// (lowbit-select-kernels), turns int8 activations into ops
/// (lowbit-quantize-activations, lowbit-fuse-norm-quantize) and selects the
/// kernels of the attention and pointwise ops; `uses` receives every choice
/// and `variants` the distinct tuned kernels. `dump`, when set, is called
/// with "selected" and "quantized" after those steps. `hyc tune` stops here.
bool selectKernels(mlir::ModuleOp module, const TargetInfo &target,
                   const std::string &tuningDb, std::vector<KernelVariant> &variants,
                   std::vector<KernelUse> &uses, std::string &error,
                   const std::function<void(const std::string &)> &dump = nullptr);

/// Lowers the module in place to the LLVM dialect, choosing kernels from the
/// tuning database `tuningDb` (empty: default schedules), giving weights the
/// kernels' layouts (lowbit-pack-weights) unless `packWeights` is false (`hyc
/// compile --weight-layout source`). `dump` (if set) is
/// called with a phase name after each phase, for --dump-ir. `out` receives
/// the kernels, the arena size and the repacked weight ranges: the weights
/// blob must be written after this, with those ranges converted
/// (writeWeightsBlob).
bool lowerToLLVMDialect(mlir::ModuleOp module, const TargetInfo &target,
                        const std::string &tuningDb, bool packWeights,
                        const std::function<void(const std::string &)> &dump,
                        LoweredModule &out, std::string &error);

/// Translates an LLVM-dialect module to an optimized object file.
bool emitObject(mlir::ModuleOp module, const TargetInfo &target,
                std::string &objectBytes, std::string &llvmIR,
                std::string &error);
} // namespace hyc

#endif // HYC_COMPILER_H
