//===- BuildModule.cpp - the lowbit module of a model's entry points -----===//
//
// Declares the activation buffers (lowbit.buffer: lowbit-plan-memory places
// them in the arena), lays out the KV cache (every layer's cache at a fixed
// offset, sized from the context) and emits the layers as straight-line
// lowbit ops, one group per layer, so later passes see every matmul and its
// shape.
// Entry points: decode (one token) and prefill (n tokens, logits of the last);
// both share the private @step (embedding + layers) and @head (lm_head).
//
//===----------------------------------------------------------------------===//
#include "hyc/Compiler.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace hyc;
namespace lb = hyc::lowbit;

namespace {
/// Tokens per prefill chunk: the matmuls of a chunk run as GEMMs over its rows
/// where the target has them (lowbit-select-kernels), reading each weight
/// once per chunk instead of once per token. Prompts are processed in whole
/// chunks, then token by token for the rest.
constexpr int64_t kPrefillChunk = 32;

/// The KV cache plan: every layer's K and V cache at a fixed byte offset of
/// the KV buffer, sized from the requested context. (Activations are
/// `lowbit.buffer`s placed by lowbit-plan-memory.)
struct KvLayout {
  std::vector<int64_t> kCache, vCache;
  int64_t kvBytes = 0;

  KvLayout(const HyConfig &c, int64_t context, int64_t rowBytes) {
    int64_t top = 0;
    auto take = [&](int64_t bytes) {
      int64_t at = top;
      top += (bytes + 63) / 64 * 64;
      return at;
    };
    for (int64_t l = 0; l < c.nLayer; ++l) {
      kCache.push_back(take(context * rowBytes));
      vCache.push_back(take(context * rowBytes));
    }
    kvBytes = top;
  }
};

/// Emits lowbit ops against the blob / arena / KV arguments of one function.
class Emit {
public:
  Emit(OpBuilder &b, Location loc, const ImportedModel &model, Value blob, Value kv)
      : b(b), loc(loc), model(model), blob(blob), kv(kv) {}

  /// A new activation buffer of `floats` f32s (lowbit-plan-memory places
  /// it); `shared` ones are the same memory in every function.
  Value buffer(StringRef name, int64_t floats, bool shared = false) {
    auto type = MemRefType::get({floats * 4}, b.getI8Type());
    auto op = lb::BufferOp::create(b, loc, type, b.getStringAttr(name));
    if (shared)
      op.setShared(true);
    return op;
  }
  /// An f32 view of `shape` at byte `offset` of a buffer.
  Value f32(Value buffer, int64_t offset, ArrayRef<int64_t> shape) {
    return view(buffer, offset, shape);
  }
  /// A cache of `elem` elements at `offset` in the KV buffer (f32, f16, or
  /// i8: the bytes of Q8_0 rows).
  Value kvCache(int64_t offset, ArrayRef<int64_t> shape, Type elem) {
    return view(kv, offset, shape, elem);
  }
  Value weight(const std::string &name) {
    const WeightEntry *w = model.find(name);
    assert(w && "importer checked every tensor");
    auto type = lb::PackedType::get(b.getContext(), w->format, w->rows, w->cols,
                                    lb::requiredBlockSize(w->format),
                                    lb::requiredScaleLayout(w->format));
    return lb::WeightOp::create(b, loc, type, blob, b.getStringAttr(name),
                                b.getI64IntegerAttr(w->blobOffset));
  }

  /// Row `row` (an index) of a row-major matrix of `cols` floats per row in
  /// `buffer`, as a rank-1 view.
  Value bufferRow(Value buffer, Value row, int64_t cols) {
    Value at =
        arith::MulIOp::create(b, loc, row, arith::ConstantIndexOp::create(b, loc, cols * 4));
    auto type = MemRefType::get({cols}, b.getF32Type());
    return memref::ViewOp::create(b, loc, type, buffer, at, ValueRange{});
  }

private:
  Value view(Value base, int64_t offset, ArrayRef<int64_t> shape, Type elem = {}) {
    auto type = MemRefType::get(shape, elem ? elem : b.getF32Type());
    Value at = arith::ConstantIndexOp::create(b, loc, offset);
    return memref::ViewOp::create(b, loc, type, base, at, ValueRange{});
  }

  OpBuilder &b;
  Location loc;
  const ImportedModel &model;
  Value blob, kv;
};

Value constI32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
}

/// v < lo || v >= hi, as i1.
Value outside(OpBuilder &b, Location loc, Value v, int64_t lo, Value hi) {
  Value below = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v,
                                      constI32(b, loc, lo));
  Value above = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, v, hi);
  return arith::OrIOp::create(b, loc, below, above);
}

/// Ends `block` with: if (bad) return code; else continue in a new block,
/// which becomes the insertion point.
void returnIf(OpBuilder &b, Location loc, Value bad, Value code) {
  Block *current = b.getInsertionBlock();
  Region *region = current->getParent();
  Block *fail = b.createBlock(region, region->end(), {b.getI32Type()}, {loc});
  func::ReturnOp::create(b, loc, fail->getArgument(0));
  Block *next = b.createBlock(region, region->end());
  b.setInsertionPointToEnd(current);
  cf::CondBranchOp::create(b, loc, bad, fail, ValueRange{code}, next, ValueRange{});
  b.setInsertionPointToEnd(next);
}
} // namespace

OwningOpRef<ModuleOp> hyc::buildDecodeModule(MLIRContext &ctx,
                                             const ImportedModel &model,
                                             const std::string &name,
                                             int64_t context, KvCache kv,
                                             MemoryPlan &plan) {
  const HyConfig &c = model.config;
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr(name));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc, StringRef(name));
  b.setInsertionPointToEnd(module->getBody());
  Type kvElem = kv == KvCache::F16   ? Type(b.getF16Type())
                : kv == KvCache::Q8_0 ? Type(b.getI8Type())
                                      : Type(b.getF32Type());
  const int64_t kvRow = kvRowBytes(kv, c.nHeadKv * c.headDim);
  // Elements of the cache memref's rows (a Q8_0 cache is a byte array).
  const int64_t kvWidth = kvRow / (kvElem.getIntOrFloatBitWidth() / 8);
  KvLayout lay(c, context, kvRow);
  // Prompts are processed in chunks when the context holds one.
  const int64_t chunk = context >= kPrefillChunk ? kPrefillChunk : 0;
  int64_t qDim = c.nHead * c.headDim, kvDim = c.nHeadKv * c.headDim;

  Type i32 = b.getI32Type();
  auto blobType = MemRefType::get({model.blobBytes}, b.getI8Type());
  // The arena's size is lowbit-plan-memory's result: dynamic until then.
  auto arenaType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  auto markArena = [&](func::FuncOp fn) {
    fn.setArgAttr(1, "lowbit.arena", b.getUnitAttr());
  };
  auto kvType = MemRefType::get({lay.kvBytes}, b.getI8Type());
  auto logitsType = MemRefType::get({c.nVocab}, b.getF32Type());
  auto tokensType = MemRefType::get({context}, i32);
  FloatAttr eps = b.getF32FloatAttr(c.rmsEps);

  // @step: embed `token` and run every layer at `pos`; leaves the hidden
  // state in the shared buffer x and appends this position to the KV cache.
  auto step = func::FuncOp::create(
      b, loc, "hy_" + name + "_step",
      b.getFunctionType({blobType, arenaType, kvType, i32, i32}, {}));
  step.setPrivate();
  markArena(step);
  {
    OpBuilder::InsertionGuard guard(b);
    Block *entry = step.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    Emit e(b, loc, model, entry->getArgument(0), entry->getArgument(2));
    Value token = entry->getArgument(3), pos = entry->getArgument(4);
    Value xBuf = e.buffer("x", c.nEmbd, /*shared=*/true), hBuf = e.buffer("h", c.nEmbd);
    Value oBuf = e.buffer("o", c.nEmbd), downBuf = e.buffer("down", c.nEmbd);
    // q, k, v back to back (and gate, up): lowbit-fuse-matmuls makes each
    // group one matmul writing one contiguous output.
    Value qkvBuf = e.buffer("qkv", qDim + 2 * kvDim), attnBuf = e.buffer("attn", qDim);
    Value ffnBuf = e.buffer("gate_up", 2 * c.nFF), scoresBuf = e.buffer("scores", context);
    Value x = e.f32(xBuf, 0, {c.nEmbd}), h = e.f32(hBuf, 0, {c.nEmbd});
    Value o = e.f32(oBuf, 0, {c.nEmbd}), down = e.f32(downBuf, 0, {c.nEmbd});
    Value q = e.f32(qkvBuf, 0, {qDim}), k = e.f32(qkvBuf, qDim * 4, {kvDim});
    Value v = e.f32(qkvBuf, (qDim + kvDim) * 4, {kvDim}), attn = e.f32(attnBuf, 0, {qDim});
    Value gate = e.f32(ffnBuf, 0, {c.nFF}), up = e.f32(ffnBuf, c.nFF * 4, {c.nFF});
    Value scores = e.f32(scoresBuf, 0, {context});
    auto base = b.getF64FloatAttr(c.ropeBase);
    auto hd = b.getI64IntegerAttr(c.headDim);

    lb::EmbeddingOp::create(b, loc, e.weight("token_embd.weight"), token, x);
    for (int64_t l = 0; l < c.nLayer; ++l) {
      std::string p = "blk." + std::to_string(l) + ".";
      Value kCache = e.kvCache(lay.kCache[l], {context, kvWidth}, kvElem);
      Value vCache = e.kvCache(lay.vCache[l], {context, kvWidth}, kvElem);
      // Attention block.
      lb::RmsNormOp::create(b, loc, x, e.weight(p + "attn_norm.weight"), h, eps);
      lb::MatmulOp::create(b, loc, h, e.weight(p + "attn_q.weight"), q);
      lb::MatmulOp::create(b, loc, h, e.weight(p + "attn_k.weight"), k);
      lb::MatmulOp::create(b, loc, h, e.weight(p + "attn_v.weight"), v);
      lb::RopeOp::create(b, loc, q, pos, q, hd, base);
      lb::RopeOp::create(b, loc, k, pos, k, hd, base);
      // HY normalizes q and k per head AFTER RoPE.
      lb::RmsNormOp::create(b, loc, q, e.weight(p + "attn_q_norm.weight"), q, eps);
      lb::RmsNormOp::create(b, loc, k, e.weight(p + "attn_k_norm.weight"), k, eps);
      lb::KvStoreOp::create(b, loc, k, kCache, pos);
      lb::KvStoreOp::create(b, loc, v, vCache, pos);
      lb::AttentionOp::create(b, loc, q, kCache, vCache, pos, scores, attn,
                              b.getI64IntegerAttr(c.nHead),
                              b.getI64IntegerAttr(c.nHeadKv), hd);
      lb::MatmulOp::create(b, loc, attn, e.weight(p + "attn_output.weight"), o);
      lb::AddOp::create(b, loc, x, o, x);
      // SwiGLU feed-forward block.
      lb::RmsNormOp::create(b, loc, x, e.weight(p + "ffn_norm.weight"), h, eps);
      lb::MatmulOp::create(b, loc, h, e.weight(p + "ffn_gate.weight"), gate);
      lb::MatmulOp::create(b, loc, h, e.weight(p + "ffn_up.weight"), up);
      lb::SwigluOp::create(b, loc, gate, up, gate);
      lb::MatmulOp::create(b, loc, gate, e.weight(p + "ffn_down.weight"), down);
      lb::AddOp::create(b, loc, x, down, x);
    }
    func::ReturnOp::create(b, loc);
  }

  // @chunk(blob, arena, kv, tokens, start, pos0): the `chunk` tokens
  // tokens[start..] at positions pos0.. through every layer, each matmul over
  // all rows at once; leaves the last row's hidden state in the shared x.
  func::FuncOp chunkFn;
  if (chunk > 0) {
    const int64_t C = chunk;
    chunkFn = func::FuncOp::create(
        b, loc, "hy_" + name + "_chunk",
        b.getFunctionType({blobType, arenaType, kvType, tokensType, i32, i32}, {}));
    chunkFn.setPrivate();
    markArena(chunkFn);
    OpBuilder::InsertionGuard guard(b);
    Block *entry = chunkFn.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    Emit e(b, loc, model, entry->getArgument(0), entry->getArgument(2));
    Value tokens = entry->getArgument(3);
    Value start = arith::IndexCastOp::create(b, loc, b.getIndexType(), entry->getArgument(4));
    Value pos0 = entry->getArgument(5);
    Value scores = e.f32(e.buffer("scores", context), 0, {context});
    auto base = b.getF64FloatAttr(c.ropeBase);
    auto hd = b.getI64IntegerAttr(c.headDim);
    // body(i, pos) for every row i of the chunk (pos = pos0 + i, i32).
    auto forRows = [&](llvm::function_ref<void(Value, Value)> body) {
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value count = arith::ConstantIndexOp::create(b, loc, C);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ForOp::create(b, loc, zero, count, one);
      OpBuilder::InsertionGuard rowGuard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      Value i = loop.getInductionVar();
      Value pos = arith::AddIOp::create(
          b, loc, pos0, arith::IndexCastOp::create(b, loc, i32, i));
      body(i, pos);
    };
    auto row = [&](Value buffer, Value i, int64_t cols) {
      return e.bufferRow(buffer, i, cols);
    };
    // One buffer per chunk activation (C rows, row-major).
    Value cx = e.buffer("chunk.x", C * c.nEmbd), ch = e.buffer("chunk.h", C * c.nEmbd);
    Value co = e.buffer("chunk.o", C * c.nEmbd), cdown = e.buffer("chunk.down", C * c.nEmbd);
    Value cq = e.buffer("chunk.q", C * qDim), ck = e.buffer("chunk.k", C * kvDim);
    Value cv = e.buffer("chunk.v", C * kvDim), cattn = e.buffer("chunk.attn", C * qDim);
    Value cgate = e.buffer("chunk.gate", C * c.nFF), cup = e.buffer("chunk.up", C * c.nFF);
    Value xShared = e.buffer("x", c.nEmbd, /*shared=*/true);
    Value X = e.f32(cx, 0, {C, c.nEmbd});
    Value H = e.f32(ch, 0, {C, c.nEmbd}), O = e.f32(co, 0, {C, c.nEmbd});
    Value Dn = e.f32(cdown, 0, {C, c.nEmbd});
    Value Q = e.f32(cq, 0, {C, qDim}), K = e.f32(ck, 0, {C, kvDim});
    Value V = e.f32(cv, 0, {C, kvDim}), A = e.f32(cattn, 0, {C, qDim});
    Value G = e.f32(cgate, 0, {C, c.nFF}), U = e.f32(cup, 0, {C, c.nFF});

    forRows([&](Value i, Value) {
      Value t = memref::LoadOp::create(
          b, loc, tokens, ValueRange{arith::AddIOp::create(b, loc, start, i)});
      lb::EmbeddingOp::create(b, loc, e.weight("token_embd.weight"), t,
                              row(cx, i, c.nEmbd));
    });
    for (int64_t l = 0; l < c.nLayer; ++l) {
      std::string p = "blk." + std::to_string(l) + ".";
      Value kCache = e.kvCache(lay.kCache[l], {context, kvWidth}, kvElem);
      Value vCache = e.kvCache(lay.vCache[l], {context, kvWidth}, kvElem);
      // Whole-chunk norms (one op over the C rows): lowbit-fuse-norm-quantize
      // can then fuse each with the int8 rounding of its matmul's input.
      lb::RmsNormOp::create(b, loc, X, e.weight(p + "attn_norm.weight"), H, eps);
      lb::MatmulOp::create(b, loc, H, e.weight(p + "attn_q.weight"), Q);
      lb::MatmulOp::create(b, loc, H, e.weight(p + "attn_k.weight"), K);
      lb::MatmulOp::create(b, loc, H, e.weight(p + "attn_v.weight"), V);
      forRows([&](Value i, Value pos) {
        Value q = row(cq, i, qDim), k = row(ck, i, kvDim);
        lb::RopeOp::create(b, loc, q, pos, q, hd, base);
        lb::RopeOp::create(b, loc, k, pos, k, hd, base);
        lb::RmsNormOp::create(b, loc, q, e.weight(p + "attn_q_norm.weight"), q, eps);
        lb::RmsNormOp::create(b, loc, k, e.weight(p + "attn_k_norm.weight"), k, eps);
        lb::KvStoreOp::create(b, loc, k, kCache, pos);
        lb::KvStoreOp::create(b, loc, row(cv, i, kvDim), vCache, pos);
      });
      // Every row's K/V is stored first; one op for the chunk, row i attends
      // to positions <= pos0 + i.
      lb::AttentionOp::create(b, loc, Q, kCache, vCache, pos0, scores, A,
                              b.getI64IntegerAttr(c.nHead), b.getI64IntegerAttr(c.nHeadKv), hd);
      lb::MatmulOp::create(b, loc, A, e.weight(p + "attn_output.weight"), O);
      forRows([&](Value i, Value) {
        Value x = row(cx, i, c.nEmbd);
        lb::AddOp::create(b, loc, x, row(co, i, c.nEmbd), x);
      });
      lb::RmsNormOp::create(b, loc, X, e.weight(p + "ffn_norm.weight"), H, eps);
      lb::MatmulOp::create(b, loc, H, e.weight(p + "ffn_gate.weight"), G);
      lb::MatmulOp::create(b, loc, H, e.weight(p + "ffn_up.weight"), U);
      forRows([&](Value i, Value) {
        Value g = row(cgate, i, c.nFF);
        lb::SwigluOp::create(b, loc, g, row(cup, i, c.nFF), g);
      });
      lb::MatmulOp::create(b, loc, G, e.weight(p + "ffn_down.weight"), Dn);
      forRows([&](Value i, Value) {
        Value x = row(cx, i, c.nEmbd);
        lb::AddOp::create(b, loc, x, row(cdown, i, c.nEmbd), x);
      });
    }
    Value last = row(cx, arith::ConstantIndexOp::create(b, loc, C - 1), c.nEmbd);
    memref::CopyOp::create(b, loc, last, e.f32(xShared, 0, {c.nEmbd}));
    func::ReturnOp::create(b, loc);
  }

  // @head: final norm and the tied lm_head (the embedding table) -> logits.
  auto head = func::FuncOp::create(
      b, loc, "hy_" + name + "_head",
      b.getFunctionType({blobType, arenaType, logitsType}, {}));
  head.setPrivate();
  markArena(head);
  {
    OpBuilder::InsertionGuard guard(b);
    Block *entry = head.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    Emit e(b, loc, model, entry->getArgument(0), Value());
    Value x = e.f32(e.buffer("x", c.nEmbd, /*shared=*/true), 0, {c.nEmbd});
    Value h = e.f32(e.buffer("h", c.nEmbd), 0, {c.nEmbd});
    lb::RmsNormOp::create(b, loc, x, e.weight("output_norm.weight"), h, eps);
    lb::MatmulOp::create(b, loc, h, e.weight("token_embd.weight"),
                         entry->getArgument(2));
    func::ReturnOp::create(b, loc);
  }

  // @decode(weights, arena, kv, token, pos, logits) -> status: one position.
  {
    auto fn = func::FuncOp::create(
        b, loc, "hy_" + name + "_decode",
        b.getFunctionType({blobType, arenaType, kvType, i32, i32, logitsType}, {i32}));
    markArena(fn);
    OpBuilder::InsertionGuard guard(b);
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    Value token = entry->getArgument(3), pos = entry->getArgument(4);
    // Reject a bad token or position before touching any memory.
    returnIf(b, loc, outside(b, loc, token, 0, constI32(b, loc, c.nVocab)),
             constI32(b, loc, 1));
    returnIf(b, loc, outside(b, loc, pos, 0, constI32(b, loc, context)),
             constI32(b, loc, 2));
    func::CallOp::create(b, loc, step,
                         ValueRange{entry->getArgument(0), entry->getArgument(1),
                                    entry->getArgument(2), token, pos});
    func::CallOp::create(b, loc, head,
                         ValueRange{entry->getArgument(0), entry->getArgument(1),
                                    entry->getArgument(5)});
    func::ReturnOp::create(b, loc, constI32(b, loc, 0));
  }

  // @prefill(weights, arena, kv, tokens, n, pos0, logits) -> status: the n
  // tokens at positions pos0.., logits of the last one only.
  {
    auto fn = func::FuncOp::create(
        b, loc, "hy_" + name + "_prefill",
        b.getFunctionType({blobType, arenaType, kvType, tokensType, i32, i32, logitsType},
                          {i32}));
    markArena(fn);
    OpBuilder::InsertionGuard guard(b);
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    Value tokens = entry->getArgument(3), n = entry->getArgument(4),
          pos0 = entry->getArgument(5);
    Value ctxC = constI32(b, loc, context);
    returnIf(b, loc, outside(b, loc, n, 1, constI32(b, loc, context + 1)),
             constI32(b, loc, 3));
    Value room = arith::SubIOp::create(b, loc, ctxC, n);
    returnIf(b, loc,
             outside(b, loc, pos0, 0, arith::AddIOp::create(b, loc, room, constI32(b, loc, 1))),
             constI32(b, loc, 2));
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value count = arith::IndexCastOp::create(b, loc, b.getIndexType(), n);
    Value vocabC = constI32(b, loc, c.nVocab);
    // Any token outside the vocabulary rejects the whole call.
    auto scan = scf::ForOp::create(
        b, loc, zero, count, one, ValueRange{arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0)},
        [&](OpBuilder &nb, Location l, Value i, ValueRange acc) {
          Value t = memref::LoadOp::create(nb, l, tokens, ValueRange{i});
          Value bad = outside(nb, l, t, 0, vocabC);
          scf::YieldOp::create(nb, l, ValueRange{arith::OrIOp::create(nb, l, acc[0], bad)});
        });
    returnIf(b, loc, scan.getResult(0), constI32(b, loc, 1));
    // Whole chunks first (GEMMs where the target has them), then the rest
    // one token at a time.
    Value chunked = zero;
    if (chunkFn) {
      Value cC = arith::ConstantIndexOp::create(b, loc, chunk);
      Value nChunks = arith::DivUIOp::create(b, loc, count, cC);
      scf::ForOp::create(
          b, loc, zero, nChunks, one, ValueRange{},
          [&](OpBuilder &nb, Location l, Value ci, ValueRange) {
            Value first = arith::MulIOp::create(nb, l, ci, cC);
            Value first32 = arith::IndexCastOp::create(nb, l, nb.getI32Type(), first);
            Value p = arith::AddIOp::create(nb, l, pos0, first32);
            func::CallOp::create(nb, l, chunkFn,
                                 ValueRange{entry->getArgument(0), entry->getArgument(1),
                                            entry->getArgument(2), tokens, first32, p});
            scf::YieldOp::create(nb, l);
          });
      chunked = arith::MulIOp::create(b, loc, nChunks, cC);
    }
    scf::ForOp::create(
        b, loc, chunked, count, one, ValueRange{},
        [&](OpBuilder &nb, Location l, Value i, ValueRange) {
          Value t = memref::LoadOp::create(nb, l, tokens, ValueRange{i});
          Value p = arith::AddIOp::create(
              nb, l, pos0, arith::IndexCastOp::create(nb, l, nb.getI32Type(), i));
          func::CallOp::create(nb, l, step,
                               ValueRange{entry->getArgument(0), entry->getArgument(1),
                                          entry->getArgument(2), t, p});
          scf::YieldOp::create(nb, l);
        });
    func::CallOp::create(b, loc, head,
                         ValueRange{entry->getArgument(0), entry->getArgument(1),
                                    entry->getArgument(6)});
    func::ReturnOp::create(b, loc, constI32(b, loc, 0));
  }

  // The runtime's hooks, each hy_<name>_set_<what>(fn, pool) forwarding to
  // the kernel library's hyk_set_<what>: set_parallel lends the runtime's
  // thread pool to the kernels (hy_set_parallel_fn in hy_abi.h), set_prefetch
  // the pool's prefetch hint that hyk_prefetch_hint calls (hy_set_prefetch_fn).
  for (const char *what : {"parallel", "prefetch"}) {
    Type ptr = LLVM::LLVMPointerType::get(&ctx);
    auto hook = func::FuncOp::create(b, loc, std::string("hyk_set_") + what,
                                     b.getFunctionType({ptr, ptr}, {}));
    hook.setPrivate();
    auto fn = func::FuncOp::create(b, loc, "hy_" + name + "_set_" + what,
                                   b.getFunctionType({ptr, ptr}, {}));
    OpBuilder::InsertionGuard guard(b);
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToEnd(entry);
    func::CallOp::create(b, loc, hook, ValueRange{entry->getArgument(0), entry->getArgument(1)});
    func::ReturnOp::create(b, loc);
  }

  plan.context = context;
  plan.arenaBytes = 0; // set by lowbit-plan-memory (lowerToLLVMDialect)
  plan.kvBytes = lay.kvBytes;
  plan.kvCache = kv;
  return module;
}

const char *hyc::kvCacheName(KvCache kv) {
  return kv == KvCache::F16 ? "f16" : kv == KvCache::Q8_0 ? "q8_0" : "f32";
}

int64_t hyc::kvRowBytes(KvCache kv, int64_t elements) {
  if (kv == KvCache::Q8_0) // the blocks of Q8_0 weights (LowBitTypes.td)
    return elements / lb::requiredBlockSize(lb::WeightFormat::Q8_0) *
           lb::blockBytes(lb::WeightFormat::Q8_0);
  return elements * (kv == KvCache::F16 ? 2 : 4);
}

bool hyc::parseKvCache(const std::string &text, KvCache &kv, std::string &error) {
  if (text == "f16" || text == "f32" || text == "q8_0") {
    kv = text == "f16" ? KvCache::F16 : text == "q8_0" ? KvCache::Q8_0 : KvCache::F32;
    return true;
  }
  error = "unknown --kv-cache '" + text + "' (expected f16, f32 or q8_0)";
  return false;
}

void hyc::addModelDescriptor(ModuleOp module, const std::string &name,
                             const ImportedModel &model, const MemoryPlan &plan,
                             uint64_t weightsHash, int64_t cpuFeatures) {
  const HyConfig &c = model.config;
  // Field order of hy_model_desc_t in runtime/include/hy/hy_abi.h.
  SmallVector<int64_t, 16> fields = {
      kAbiVersion,     c.nVocab,          c.nEmbd,    c.nLayer,
      c.nHead,         c.nHeadKv,         c.headDim,  c.nFF,
      plan.context,    model.blobBytes,   plan.arenaBytes, plan.kvBytes,
      c.bosId,         c.eosId,           static_cast<int64_t>(weightsHash), cpuFeatures};
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto i64 = b.getI64Type();
  auto type = LLVM::LLVMArrayType::get(i64, fields.size());
  auto value = DenseElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(fields.size())}, i64),
      ArrayRef<int64_t>(fields));
  LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                         LLVM::Linkage::External, "hy_" + name + "_desc", value);
}
