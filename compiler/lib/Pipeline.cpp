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

bool hyc::selectKernels(ModuleOp module, const TargetInfo &target,
                        const std::string &tuningDb,
                        std::vector<KernelVariant> &variants,
                        std::vector<KernelUse> &uses, std::string &error) {
  static bool registered = [] {
    lowbit::registerLowBitPasses();
    registerSCFToControlFlowPass();
    registerConvertMathToLLVMPass();
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
  if (!runPipeline(module,
                   "func.func(lowbit-fuse-matmuls),lowbit-select-kernels{tuning-db=" +
                       tuningDb + " target=" + target.name +
                       " activations=" + target.activations + "}",
                   error))
    return false;
  std::set<std::string> seen;
  module.walk([&](lowbit::MatmulOp op) {
    auto kernel = op->getAttrOfType<StringAttr>("hyc.kernel");
    auto schedule = op->getAttrOfType<StringAttr>("hyc.schedule");
    if (!kernel || !schedule)
      return;
    lowbit::PackedType w = op.getWeight().getType();
    uses.push_back({kernel.str(), schedule.str(), w.getRows(), w.getCols()});
    if (schedule.getValue() == "default")
      return;
    std::string symbol = lowbit::kernelVariantName(kernel.getValue(), target.kernelIsa,
                                                   schedule.getValue());
    if (seen.insert(symbol).second)
      variants.push_back({kernel.str(), schedule.str(), symbol});
  });
  return true;
}

bool hyc::lowerToLLVMDialect(ModuleOp module, const TargetInfo &target,
                             const std::string &tuningDb,
                             const std::function<void(const std::string &)> &dump,
                             std::vector<KernelVariant> &variants,
                             std::vector<KernelUse> &uses, int64_t &arenaBytes,
                             std::string &error) {
  if (!selectKernels(module, target, tuningDb, variants, uses, error))
    return false;
  if (dump)
    dump("selected");
  // Int8 activations as ops (x86-64-avx512 --activations int8), the norms
  // fused into them; then every buffer gets its place in the arena.
  if (!runPipeline(module,
                   "func.func(lowbit-quantize-activations,lowbit-fuse-norm-quantize)", error))
    return false;
  if (dump)
    dump("quantized");
  if (!runPipeline(module, "lowbit-plan-memory", error))
    return false;
  auto arena = module->getAttrOfType<IntegerAttr>("lowbit.arena_bytes");
  if (!arena) {
    error = "internal error: lowbit-plan-memory recorded no arena size";
    return false;
  }
  arenaBytes = arena.getInt();
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
                   "convert-scf-to-cf,convert-math-to-llvm,"
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
