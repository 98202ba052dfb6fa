//===- Pipeline.cpp - lowbit -> loops/kernel calls -> LLVM dialect -------===//
#include "hyc/Compiler.h"
#include "hyc/Dialect/LowBit/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace mlir;

void hyc::registerCompilerDialects(MLIRContext &ctx) {
  DialectRegistry registry;
  registry.insert<lowbit::LowBitDialect, arith::ArithDialect,
                  cf::ControlFlowDialect, func::FuncDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, LLVM::LLVMDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
}

namespace {
/// Runs a comma-separated list of module passes (no op-name wrapper).
bool runPipeline(ModuleOp module, const std::string &pipeline,
                 std::string &error) {
  auto pm = PassManager::on<ModuleOp>(module.getContext());
  std::string parseError;
  llvm::raw_string_ostream os(parseError);
  if (failed(parsePassPipeline(pipeline, pm, os))) {
    error = "internal error: bad pass pipeline '" + pipeline + "': " + parseError;
    return false;
  }
  // Diagnostics go to stderr through the context's handler; the caller adds
  // which phase failed.
  if (failed(pm.run(module))) {
    error = "pass pipeline failed: " + pipeline;
    return false;
  }
  return true;
}
} // namespace

namespace {
/// Every matmul's (and, after lowbit-quantize-activations, qmatmul's)
/// kernel, schedule, shape and weight layout, then every attention /
/// pointwise op's (its N and K as lowbit-select-kernels keys them).
void collectKernelUses(ModuleOp module, std::vector<hyc::KernelUse> &uses) {
  uses.clear();
  module.walk([&](Operation *op) {
    auto kernel = op->getAttrOfType<StringAttr>("hyc.kernel");
    auto schedule = op->getAttrOfType<StringAttr>("hyc.schedule");
    if (!kernel || !schedule)
      return;
    Value weight, x;
    if (auto mm = dyn_cast<hyc::lowbit::MatmulOp>(op))
      weight = mm.getWeight(), x = mm.getX();
    else if (auto qm = dyn_cast<hyc::lowbit::QuantizedMatmulOp>(op))
      weight = qm.getWeight(), x = qm.getQ();
    if (!weight) {
      hyc::KernelUse u;
      if (!hyc::lowbit::kernelShape(op, u.n, u.k, u.kvHeads, u.m))
        return;
      u.kernel = kernel.str();
      u.schedule = schedule.str();
      uses.push_back(u);
      return;
    }
    auto w = cast<hyc::lowbit::PackedType>(weight.getType());
    std::string layout = hyc::lowbit::stringifyWeightFormat(w.getFormat()).str();
    if (w.isRepacked())
      layout += "/r" + std::to_string(w.getTileRows());
    auto xType = cast<MemRefType>(x.getType());
    int64_t m = xType.getRank() == 2 ? xType.getDimSize(0) : 1;
    uses.push_back({kernel.str(), schedule.str(), w.getRows(), w.getCols(), m, layout});
  });
}
} // namespace

bool hyc::selectKernels(ModuleOp module, const TargetInfo &target,
                        const std::string &tuningDb,
                        std::vector<KernelVariant> &variants,
                        std::vector<KernelUse> &uses, std::string &error,
                        const std::function<void(const std::string &)> &dump) {
  static bool registered = [] {
    lowbit::registerLowBitPasses();
    registerSCFToControlFlowPass();
    registerConvertMathToLLVMPass();
    registerConvertVectorToLLVMPass();
    registerFinalizeMemRefToLLVMConversionPass();
    registerArithToLLVMConversionPass();
    registerConvertControlFlowToLLVMPass();
    registerConvertFuncToLLVMPass();
    registerReconcileUnrealizedCastsPass();
    registerCanonicalizerPass();
    registerCSEPass();
    return true;
  }();
  (void)registered;
  if (failed(verify(module))) {
    error = "the imported module does not verify";
    return false;
  }
  // Pass options are parsed from text: paths with spaces or braces would not
  // survive that, so reject them clearly.
  if (tuningDb.find_first_of(" {}") != std::string::npos) {
    error = "tuning database path '" + tuningDb + "' must not contain spaces or braces";
    return false;
  }
  // TargetInfo::tuningName: the macOS targets use their Linux namesakes'
  // schedules.
  const std::string select = "lowbit-select-kernels{tuning-db=" + tuningDb + " target=" +
                             target.tuningName + " activations=" + target.activations + "}";
  if (!runPipeline(module, "func.func(lowbit-fuse-matmuls)," + select, error))
    return false;
  if (dump)
    dump("selected");
  // Int8 activations as ops (x86-64-avx512 --activations int8), the norms
  // fused into them; then the kernels of the ops those passes created.
  if (!runPipeline(module,
                   "func.func(lowbit-quantize-activations,lowbit-fuse-norm-quantize)," +
                       select,
                   error))
    return false;
  if (dump)
    dump("quantized");
  collectKernelUses(module, uses);
  std::set<std::string> seen;
  for (const KernelUse &u : uses) {
    if (u.schedule == "default")
      continue;
    std::string symbol = lowbit::kernelVariantName(u.kernel, target.kernelIsa, u.schedule);
    if (seen.insert(symbol).second)
      variants.push_back({u.kernel, u.schedule, symbol});
  }
  return true;
}

bool hyc::lowerToLLVMDialect(ModuleOp module, const TargetInfo &target,
                             const std::string &tuningDb, bool packWeights,
                             const std::function<void(const std::string &)> &dump,
                             LoweredModule &out, std::string &error) {
  if (!selectKernels(module, target, tuningDb, out.variants, out.uses, error, dump))
    return false;
  // Weights into the layouts of the kernels that read them.
  if (packWeights &&
      !runPipeline(module, "lowbit-pack-weights{kernel-isa=" + target.kernelIsa + "}", error))
    return false;
  out.repacked.clear();
  if (auto ranges = module->getAttrOfType<ArrayAttr>("lowbit.repacked_weights")) {
    for (Attribute a : ranges) {
      auto d = cast<DictionaryAttr>(a);
      auto field = [&](StringRef name) { return cast<IntegerAttr>(d.get(name)).getInt(); };
      out.repacked.push_back(
          {field("offset"), field("bytes"), field("row_bytes"), field("tile_rows")});
    }
  }
  collectKernelUses(module, out.uses);
  if (dump)
    dump("packed");
  // Every buffer gets its place in the arena.
  if (!runPipeline(module, "lowbit-plan-memory", error))
    return false;
  auto arena = module->getAttrOfType<IntegerAttr>("lowbit.arena_bytes");
  if (!arena) {
    error = "internal error: lowbit-plan-memory recorded no arena size";
    return false;
  }
  out.arenaBytes = arena.getInt();
  if (dump)
    dump("planned");
  if (!runPipeline(module,
                   "convert-lowbit-to-loops{kernel-isa=" + target.kernelIsa +
                       "},canonicalize,cse",
                   error))
    return false;
  if (dump)
    dump("loops");
  if (!runPipeline(module,
                   "convert-scf-to-cf,convert-vector-to-llvm,convert-math-to-llvm,"
                   "finalize-memref-to-llvm,convert-arith-to-llvm,"
                   "convert-cf-to-llvm,"
                   "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
                   "reconcile-unrealized-casts,canonicalize",
                   error))
    return false;
  if (dump)
    dump("llvm");
  return true;
}
