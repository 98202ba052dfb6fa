//===- BuildModule.cpp - the lowbit module of one decode step ------------===//
//
// Lays out the activation arena and the KV cache (a static plan: every
// buffer at a fixed offset) and emits the layer loop as straight-line lowbit
// ops, one group per layer, so later passes see every matmul and its shape.
//
//===----------------------------------------------------------------------===//
#include "hyc/Compiler.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace hyc;
namespace lb = hyc::lowbit;

namespace {
class DecodeBuilder {
public:
  DecodeBuilder(OpBuilder &b, Location loc, const ImportedModel &model,
                Value blob, Value arena, Value kv)
      : b(b), loc(loc), model(model), blob(blob), arena(arena), kv(kv) {}

  /// A view of `n` f32 at the next free arena offset (64-byte aligned).
  Value arenaVector(int64_t n) { return view(arena, arenaTop, {n}); }
  Value kvMatrix(int64_t rows, int64_t cols) { return view(kv, kvTop, {rows, cols}); }

  Value weight(const std::string &name) {
    const WeightEntry *w = model.find(name);
    assert(w && "importer checked every tensor");
    auto type = lb::PackedType::get(b.getContext(), w->format, w->rows, w->cols,
                                    lb::requiredBlockSize(w->format),
                                    lb::requiredScaleLayout(w->format));
    return lb::WeightOp::create(b, loc, type, blob, b.getStringAttr(name),
                                b.getI64IntegerAttr(w->blobOffset));
  }

  int64_t arenaTop = 0, kvTop = 0;

private:
  Value view(Value base, int64_t &top, ArrayRef<int64_t> shape) {
    auto type = MemRefType::get(shape, b.getF32Type());
    Value offset = arith::ConstantIndexOp::create(b, loc, top);
    top += (type.getNumElements() * 4 + 63) / 64 * 64;
    return memref::ViewOp::create(b, loc, type, base, offset, ValueRange{});
  }

  OpBuilder &b;
  Location loc;
  const ImportedModel &model;
  Value blob, arena, kv;
};
} // namespace

OwningOpRef<ModuleOp> hyc::buildDecodeModule(MLIRContext &ctx,
                                             const ImportedModel &model,
                                             const std::string &name,
                                             int64_t context, MemoryPlan &plan) {
  const HyConfig &c = model.config;
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr(name));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc, StringRef(name));
  b.setInsertionPointToEnd(module->getBody());

  // The arena and KV sizes are part of the signature, so they are computed
  // up front; the assert below checks the builder used exactly this plan.
  auto align = [](int64_t bytes) { return (bytes + 63) / 64 * 64; };
  int64_t qDim = c.nHead * c.headDim, kvDim = c.nHeadKv * c.headDim;
  int64_t arenaBytes = align(4 * c.nEmbd) * 4 + align(4 * qDim) * 2 +
                       align(4 * kvDim) * 2 + align(4 * c.nFF) * 2 +
                       align(4 * context);
  int64_t kvBytes = align(4 * context * kvDim) * 2 * c.nLayer;

  Type i32 = b.getI32Type();
  auto blobType = MemRefType::get({model.blobBytes}, b.getI8Type());
  auto arenaType = MemRefType::get({arenaBytes}, b.getI8Type());
  auto kvType = MemRefType::get({kvBytes}, b.getI8Type());
  auto logitsType = MemRefType::get({c.nVocab}, b.getF32Type());
  auto fnType = b.getFunctionType({blobType, arenaType, kvType, i32, i32, logitsType}, {i32});
  auto fn = func::FuncOp::create(b, loc, "hy_" + name + "_decode", fnType);
  Block *entry = fn.addEntryBlock();
  Block *body = fn.addBlock();
  Block *fail = fn.addBlock();
  fail->addArgument(i32, loc);

  // Entry: reject a bad token or position before touching any memory.
  b.setInsertionPointToEnd(entry);
  Value token = entry->getArgument(3), pos = entry->getArgument(4);
  auto constI32 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i32, v);
  };
  auto outside = [&](Value v, int64_t hi) {
    Value lo = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v, constI32(0));
    Value up = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, v, constI32(hi));
    return arith::OrIOp::create(b, loc, lo, up);
  };
  Value badToken = outside(token, c.nVocab);
  Value badPos = outside(pos, context);
  Value code = arith::SelectOp::create(b, loc, badToken, constI32(1), constI32(2));
  Value bad = arith::OrIOp::create(b, loc, badToken, badPos);
  cf::CondBranchOp::create(b, loc, bad, fail, ValueRange{code}, body, ValueRange{});
  b.setInsertionPointToEnd(fail);
  func::ReturnOp::create(b, loc, fail->getArgument(0));

  b.setInsertionPointToEnd(body);
  DecodeBuilder d(b, loc, model, entry->getArgument(0), entry->getArgument(1),
                  entry->getArgument(2));
  Value x = d.arenaVector(c.nEmbd), h = d.arenaVector(c.nEmbd),
        o = d.arenaVector(c.nEmbd), down = d.arenaVector(c.nEmbd);
  Value q = d.arenaVector(qDim), attn = d.arenaVector(qDim);
  Value k = d.arenaVector(kvDim), v = d.arenaVector(kvDim);
  Value gate = d.arenaVector(c.nFF), up = d.arenaVector(c.nFF);
  Value scores = d.arenaVector(context);
  Value logits = entry->getArgument(5);
  FloatAttr eps = b.getF32FloatAttr(c.rmsEps);

  Value embd = d.weight("token_embd.weight");
  lb::EmbeddingOp::create(b, loc, embd, token, x);
  for (int64_t l = 0; l < c.nLayer; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    Value kCache = d.kvMatrix(context, kvDim), vCache = d.kvMatrix(context, kvDim);
    // Attention block.
    lb::RmsNormOp::create(b, loc, x, d.weight(p + "attn_norm.weight"), h, eps);
    lb::MatmulOp::create(b, loc, h, d.weight(p + "attn_q.weight"), q);
    lb::MatmulOp::create(b, loc, h, d.weight(p + "attn_k.weight"), k);
    lb::MatmulOp::create(b, loc, h, d.weight(p + "attn_v.weight"), v);
    auto base = b.getF64FloatAttr(c.ropeBase);
    auto hd = b.getI64IntegerAttr(c.headDim);
    lb::RopeOp::create(b, loc, q, pos, q, hd, base);
    lb::RopeOp::create(b, loc, k, pos, k, hd, base);
    // HY normalizes q and k per head AFTER RoPE.
    lb::RmsNormOp::create(b, loc, q, d.weight(p + "attn_q_norm.weight"), q, eps);
    lb::RmsNormOp::create(b, loc, k, d.weight(p + "attn_k_norm.weight"), k, eps);
    lb::KvStoreOp::create(b, loc, k, kCache, pos);
    lb::KvStoreOp::create(b, loc, v, vCache, pos);
    lb::AttentionOp::create(b, loc, q, kCache, vCache, pos, scores, attn,
                            b.getI64IntegerAttr(c.nHead),
                            b.getI64IntegerAttr(c.nHeadKv), hd);
    lb::MatmulOp::create(b, loc, attn, d.weight(p + "attn_output.weight"), o);
    lb::AddOp::create(b, loc, x, o, x);
    // SwiGLU feed-forward block.
    lb::RmsNormOp::create(b, loc, x, d.weight(p + "ffn_norm.weight"), h, eps);
    lb::MatmulOp::create(b, loc, h, d.weight(p + "ffn_gate.weight"), gate);
    lb::MatmulOp::create(b, loc, h, d.weight(p + "ffn_up.weight"), up);
    lb::SwigluOp::create(b, loc, gate, up, gate);
    lb::MatmulOp::create(b, loc, gate, d.weight(p + "ffn_down.weight"), down);
    lb::AddOp::create(b, loc, x, down, x);
  }
  lb::RmsNormOp::create(b, loc, x, d.weight("output_norm.weight"), h, eps);
  // Tied embeddings: the lm_head is the embedding table.
  lb::MatmulOp::create(b, loc, h, embd, logits);
  func::ReturnOp::create(b, loc, constI32(0));

  assert(d.arenaTop == arenaBytes && d.kvTop == kvBytes && "plan mismatch");
  plan.context = context;
  plan.arenaBytes = arenaBytes;
  plan.kvBytes = kvBytes;
  return module;
}

void hyc::addModelDescriptor(ModuleOp module, const std::string &name,
                             const ImportedModel &model, const MemoryPlan &plan,
                             uint64_t weightsHash) {
  const HyConfig &c = model.config;
  // Field order of hy_model_desc_t in runtime/include/hy/hy_abi.h.
  SmallVector<int64_t, 16> fields = {
      kAbiVersion,     c.nVocab,          c.nEmbd,    c.nLayer,
      c.nHead,         c.nHeadKv,         c.headDim,  c.nFF,
      plan.context,    model.blobBytes,   plan.arenaBytes, plan.kvBytes,
      c.bosId,         c.eosId,           static_cast<int64_t>(weightsHash), 0};
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto i64 = b.getI64Type();
  auto type = LLVM::LLVMArrayType::get(i64, fields.size());
  auto value = DenseElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(fields.size())}, i64),
      ArrayRef<int64_t>(fields));
  LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                         LLVM::Linkage::External, "hy_" + name + "_desc", value);
}
