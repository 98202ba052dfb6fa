//===- SelectKernels.cpp - kernel and schedule choice from the tuning DB -===//
//
// The tuning database maps (kernel family, N, K, target) to the schedule that
// measured fastest on the device. This pass only records the choice on each
// matmul and on each attention / pointwise op that a kernel implements; the
// lowering calls the matching kernel and the driver generates any
// non-default schedule it names. Ops that already carry a choice are left
// alone, so the driver runs it again after lowbit-quantize-activations and
// lowbit-fuse-norm-quantize for the ops those create.
//
// N and K of the non-matmul kernels (schedules/TuningDatabase.md):
//   attention_{decode,prefill}_<cache>  N = query heads, K = head_dim, and
//                                       the entry's kv_heads
//   rms_norm                            N = groups (rows x groups per row),
//                                       K = group size
//   rope                                N = heads, K = head_dim
//   swiglu                              N = 1, K = elements
//   quantize, rms_norm_quantize         N = rows, K = row length
//
//===----------------------------------------------------------------------===//

#include "hyc/Dialect/LowBit/LowBit.h"
#include "hyc/Dialect/LowBit/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <map>
#include <tuple>

namespace hyc::lowbit {
#define GEN_PASS_DEF_SELECTKERNELSPASS
#include "hyc/Dialect/LowBit/Passes.h.inc"
} // namespace hyc::lowbit

using namespace mlir;
using namespace hyc::lowbit;

namespace {
using Key = std::tuple<std::string, int64_t, int64_t, int64_t>; // kernel, n, k, kv_heads

/// Reads the entries of `target` from the database at `path`.
LogicalResult readDatabase(StringRef path, StringRef target,
                           std::map<Key, std::string> &out, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = "cannot read tuning database '" + path.str() +
            "': " + buffer.getError().message();
    return failure();
  }
  llvm::Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  if (!json) {
    error = "tuning database '" + path.str() +
            "' is not valid JSON: " + llvm::toString(json.takeError());
    return failure();
  }
  const llvm::json::Object *root = json->getAsObject();
  auto bad = [&](const std::string &what) {
    error = "tuning database '" + path.str() + "': " + what;
    return failure();
  };
  if (!root || root->getString("format") != "hyc-tuning-db")
    return bad("missing \"format\": \"hyc-tuning-db\"");
  if (root->getInteger("version") != 1)
    return bad("unsupported version (this hyc reads version 1)");
  const llvm::json::Array *entries = root->getArray("entries");
  if (!entries)
    return bad("missing \"entries\" array");
  for (size_t i = 0; i < entries->size(); ++i) {
    const llvm::json::Object *e = (*entries)[i].getAsObject();
    std::string where = "entry #" + std::to_string(i);
    if (!e)
      return bad(where + " is not an object");
    std::optional<StringRef> kernel = e->getString("kernel"), tgt = e->getString("target");
    std::optional<int64_t> n = e->getInteger("n"), k = e->getInteger("k");
    // Attention entries also name their KV heads; 0 for every other kernel.
    int64_t kvHeads = e->getInteger("kv_heads").value_or(0);
    const llvm::json::Object *schedule = e->getObject("schedule");
    if (!kernel || !tgt || !n || !k || !schedule)
      return bad(where + " needs kernel, target, n, k and schedule");
    if (*tgt != target)
      continue;
    // Schedule params as "name=value,..." in key order (std::map: stable).
    std::map<std::string, std::string> params;
    for (const auto &kv : *schedule) {
      std::string value;
      if (std::optional<int64_t> iv = kv.second.getAsInteger())
        value = std::to_string(*iv);
      else if (std::optional<bool> bv = kv.second.getAsBoolean())
        value = *bv ? "true" : "false";
      else
        return bad(where + ": schedule parameter '" + kv.first.str() +
                   "' must be an integer or a boolean");
      for (char c : kv.first.str())
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
          return bad(where + ": bad schedule parameter name '" + kv.first.str() + "'");
      params[kv.first.str()] = value;
    }
    std::string text;
    for (const auto &[name, value] : params)
      text += (text.empty() ? "" : ",") + name + "=" + value;
    out[Key(kernel->str(), *n, *k, kvHeads)] = text.empty() ? "default" : text;
  }
  return success();
}

struct SelectKernels
    : public hyc::lowbit::impl::SelectKernelsPassBase<SelectKernels> {
  using Base::Base;
  /// Targets whose kernel library has a prefill GEMM for `format`
  /// (schedules/: gemm_q2_0c_vnni for AVX-512 VNNI, the smmla GEMM with its
  /// dotprod fallback for NEON, the SMOPA GEMM of schedules/sme2 for SME2).
  /// On x86-64-avx2 only the int8-activation GEMM exists (over activations
  /// quantized beforehand, vpmaddubsw), so int8 activations are required.
  bool hasGemm(WeightFormat format) const {
    return format == WeightFormat::Q2_0C &&
           (target == "x86-64-avx512" || target == "aarch64-neon" ||
            target == "aarch64-sme2" || (target == "x86-64-avx2" && activations == "int8"));
  }

  /// Whether `format`'s matmuls have an int8-activation family on this
  /// target: Q2_0C (over activations quantized beforehand;
  /// lowbit-quantize-activations) and the Q8_0 lm_head (float input,
  /// rounded inside the kernel), on both x86 ISAs.
  bool hasInt8Family(WeightFormat format) const {
    return (format == WeightFormat::Q2_0C || format == WeightFormat::Q8_0) &&
           (target == "x86-64-avx512" || target == "x86-64-avx2" || target.empty());
  }

  /// Targets whose kernel library has the Q2_K / TQ2_0 GEMVs
  /// (schedules/gemv/K2GemvGenerator.cpp: x86 and AArch64).
  bool hasK2Gemv() const {
    return target == "x86-64-avx2" || target == "x86-64-avx512" ||
           target == "aarch64-neon" || target == "aarch64-sme2";
  }

  void runOnOperation() override {
    if (activations != "f32" && activations != "int8") {
      getOperation().emitError() << "lowbit-select-kernels: unknown activations '"
                                 << activations << "' (expected f32 or int8)";
      return signalPassFailure();
    }
    db.clear();
    if (!tuningDb.empty()) {
      std::string error;
      if (failed(readDatabase(tuningDb, target, db, error))) {
        getOperation().emitError(error);
        return signalPassFailure();
      }
    }
    getOperation().walk([&](MatmulOp op) {
      if (op->hasAttr("hyc.kernel"))
        return;
      PackedType w = op.getWeight().getType();
      // Formats with kernels; the rest (f32/f16; Q2_K/TQ2_0 elsewhere) are
      // lowered to loops by convert-lowbit-to-loops.
      bool k2 = w.getFormat() == WeightFormat::Q2_K || w.getFormat() == WeightFormat::TQ2_0;
      if (k2 && !hasK2Gemv())
        return;
      if (!k2 && w.getFormat() != WeightFormat::Q2_0C && w.getFormat() != WeightFormat::Q8_0)
        return;
      // The family's name: format, plus "_a8" for int8 activations (which
      // the Q2_0C and Q8_0 kernels offer).
      std::string family = stringifyWeightFormat(w.getFormat()).str();
      if (activations == "int8" && hasInt8Family(w.getFormat()))
        family += "_a8";
      std::string kernel = "gemv_" + family;
      // Several activation rows (prefill) on a target with a GEMM kernel for
      // the format: the GEMM (its database entries are keyed by N and K
      // too: M is the prefill chunk; only gemm_q2_0c_a8 on avx512 has a
      // tuned form, convert-lowbit-to-loops rejects the others').
      auto x = cast<MemRefType>(op.getX().getType());
      if (x.getRank() == 2 && x.getDimSize(0) > 1 && hasGemm(w.getFormat()))
        kernel = "gemm_" + family;
      choose(op, kernel, w.getRows(), w.getCols());
    });
    // The attention and pointwise kernels (convert-lowbit-to-loops calls
    // them where these conditions hold, else lowers the op to loops).
    getOperation().walk([&](Operation *op) {
      int64_t n = 0, k = 0, kvHeads = 0, rows = 0;
      if (op->hasAttr("hyc.kernel") || !kernelShape(op, n, k, kvHeads, rows))
        return;
      std::string kernel = op->getName().stripDialect().str(); // rms_norm, rope, ...
      if (auto a = dyn_cast<AttentionOp>(op)) {
        if (a.getHeadDim() % kAttentionHeadDimMultiple != 0)
          return;
        Type elem = cast<MemRefType>(a.getKCache().getType()).getElementType();
        kernel = rows == 1 ? "attention_decode" : "attention_prefill";
        kernel += elem.isF16() ? "_f16" : elem.isInteger(8) ? "_q8_0" : "_f32";
      } else if (isa<RopeOp>(op) && k > kRopeMaxHeadDim) {
        return;
      } else if (isa<QuantizeOp, RmsNormQuantizeOp>(op) && !hasQuantizeKernels()) {
        return;
      }
      choose(op, kernel, n, k, kvHeads);
    });
  }

  /// The quantize / rms_norm_quantize kernels are x86's (avx2 and avx512,
  /// the int8 activations' targets).
  bool hasQuantizeKernels() const {
    return target == "x86-64-avx512" || target == "x86-64-avx2";
  }

  /// Records `kernel` and the database's schedule for (kernel, n, k, kvHeads)
  /// ("default" when it has none) on `op`.
  void choose(Operation *op, const std::string &kernel, int64_t n, int64_t k,
              int64_t kvHeads = 0) {
    Builder b(op->getContext());
    auto it = db.find(Key(kernel, n, k, kvHeads));
    op->setAttr("hyc.kernel", b.getStringAttr(kernel));
    op->setAttr("hyc.schedule", b.getStringAttr(it == db.end() ? "default" : it->second));
  }

  std::map<Key, std::string> db;
};
} // namespace
