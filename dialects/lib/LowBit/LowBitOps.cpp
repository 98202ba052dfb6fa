//===- LowBitOps.cpp - lowbit op verifiers ---------------------------------===//
#include "hyc/Dialect/LowBit/LowBit.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace hyc::lowbit;

#define GET_OP_CLASSES
#include "hyc/Dialect/LowBit/LowBitOps.cpp.inc"

namespace {
/// Every lowbit op works on statically shaped buffers: the compiler plans
/// memory for the whole model ahead of time.
LogicalResult requireStatic(Operation *op, Value v, StringRef what) {
  auto type = cast<MemRefType>(v.getType());
  if (!type.hasStaticShape())
    return op->emitOpError() << what << " must have a static shape, got "
                             << type;
  return success();
}

int64_t numElements(Value v) {
  return cast<MemRefType>(v.getType()).getNumElements();
}

LogicalResult requireSameLength(Operation *op, Value a, StringRef aName,
                                Value b, StringRef bName) {
  if (failed(requireStatic(op, a, aName)) || failed(requireStatic(op, b, bName)))
    return failure();
  if (numElements(a) != numElements(b))
    return op->emitOpError() << aName << " has " << numElements(a) << " elements but "
                             << bName << " has " << numElements(b);
  return success();
}

LogicalResult requirePositive(Operation *op, int64_t value, StringRef name) {
  if (value <= 0)
    return op->emitOpError() << name << " must be positive, got " << value;
  return success();
}
} // namespace

LogicalResult WeightOp::verify() {
  auto blobType = cast<MemRefType>(getBlob().getType());
  PackedType type = getResult().getType();
  int64_t offset = getOffset();
  if (offset < 0)
    return emitOpError() << "offset must be non-negative, got " << offset;
  int64_t align = blockBytes(type.getFormat()) == 4 ? 4 : 2;
  if (offset % align != 0)
    return emitOpError() << "offset " << offset << " of '" << getName()
                         << "' is not aligned to " << align << " bytes";
  if (blobType.hasStaticShape() &&
      offset + type.getTotalBytes() > blobType.getNumElements())
    return emitOpError() << "'" << getName() << "' needs bytes [" << offset
                         << ", " << offset + type.getTotalBytes()
                         << ") but the weights blob has "
                         << blobType.getNumElements();
  return success();
}

LogicalResult BufferOp::verify() {
  if (failed(requireStatic(*this, getResult(), "buffer")))
    return failure();
  if (numElements(getResult()) <= 0)
    return emitOpError() << "buffer '" << getName() << "' must have a positive size";
  if (getName().empty())
    return emitOpError() << "buffer name must not be empty";
  return success();
}

LogicalResult MatmulOp::verify() {
  auto xType = cast<MemRefType>(getX().getType());
  auto outType = cast<MemRefType>(getOut().getType());
  PackedType w = getWeight().getType();
  if (failed(requireStatic(*this, getX(), "x")) ||
      failed(requireStatic(*this, getOut(), "out")))
    return failure();
  if (xType.getRank() != outType.getRank())
    return emitOpError() << "x and out must have the same rank, got "
                         << xType.getRank() << " and " << outType.getRank();
  if (xType.getRank() == 2 && xType.getDimSize(0) != outType.getDimSize(0))
    return emitOpError() << "x has " << xType.getDimSize(0)
                         << " rows but out has " << outType.getDimSize(0);
  int64_t k = xType.getShape().back(), n = outType.getShape().back();
  if (k != w.getCols())
    return emitOpError() << "x has K = " << k
                         << " but the weight's row length is " << w.getCols();
  if (n != w.getRows())
    return emitOpError() << "out has N = " << n << " but the weight has "
                         << w.getRows() << " rows";
  return success();
}

namespace {
/// Checks `q` (int8, like x) and `steps` (K / 32 per row) against the f32
/// activations shape `x` ([K] or [M, K]); K must be a multiple of 512.
LogicalResult verifyQuantized(Operation *op, MemRefType x, Value q, Value steps,
                              StringRef groups) {
  if (groups != "q2_0c_lanes")
    return op->emitOpError() << "unknown activation groups '" << groups
                             << "' (expected q2_0c_lanes)";
  auto qt = cast<MemRefType>(q.getType()), st = cast<MemRefType>(steps.getType());
  if (!x.hasStaticShape() || !qt.hasStaticShape() || !st.hasStaticShape())
    return op->emitOpError() << "activations, q and steps must have static shapes";
  if (qt.getShape() != x.getShape())
    return op->emitOpError() << "q has shape " << qt << " but the activations are " << x;
  int64_t k = x.getShape().back();
  if (k % 512 != 0)
    return op->emitOpError() << "K = " << k
                             << " is not a multiple of 512 (the q2_0c_lanes groups)";
  SmallVector<int64_t, 2> want(x.getShape());
  want.back() = k / 32;
  if (st.getRank() != x.getRank() || st.getShape() != ArrayRef<int64_t>(want))
    return op->emitOpError() << "steps must hold K / 32 = " << k / 32
                             << " floats per row, got " << st;
  return success();
}
} // namespace

LogicalResult QuantizeOp::verify() {
  return verifyQuantized(*this, cast<MemRefType>(getX().getType()), getQ(), getSteps(),
                         getGroups());
}

LogicalResult RmsNormQuantizeOp::verify() {
  PackedType gamma = getGamma().getType();
  auto xType = cast<MemRefType>(getX().getType());
  if (gamma.getFormat() != WeightFormat::F32 || gamma.getRows() != 1)
    return emitOpError() << "gamma must be !lowbit.packed<f32, 1xK>";
  if (xType.hasStaticShape() && gamma.getCols() != xType.getShape().back())
    return emitOpError() << "gamma has " << gamma.getCols() << " entries but a row of x has "
                         << xType.getShape().back() << " (the norm is over whole rows)";
  return verifyQuantized(*this, xType, getQ(), getSteps(), getGroups());
}

LogicalResult QuantizedMatmulOp::verify() {
  PackedType w = getWeight().getType();
  if (w.getFormat() != WeightFormat::Q2_0C)
    return emitOpError() << "weights must be q2_0c, got "
                         << stringifyWeightFormat(w.getFormat());
  auto qType = cast<MemRefType>(getQ().getType());
  auto outType = cast<MemRefType>(getOut().getType());
  auto asF32 = MemRefType::get(qType.getShape(), Float32Type::get(getContext()));
  if (failed(verifyQuantized(*this, asF32, getQ(), getSteps(), "q2_0c_lanes")) ||
      failed(requireStatic(*this, getOut(), "out")))
    return failure();
  if (qType.getRank() != outType.getRank() ||
      (qType.getRank() == 2 && qType.getDimSize(0) != outType.getDimSize(0)))
    return emitOpError() << "q " << qType << " and out " << outType
                         << " must have the same rank and rows";
  if (qType.getShape().back() != w.getCols())
    return emitOpError() << "q has K = " << qType.getShape().back()
                         << " but the weight's row length is " << w.getCols();
  if (outType.getShape().back() != w.getRows())
    return emitOpError() << "out has N = " << outType.getShape().back()
                         << " but the weight has " << w.getRows() << " rows";
  return success();
}

LogicalResult EmbeddingOp::verify() {
  PackedType table = getTable().getType();
  WeightFormat f = table.getFormat();
  if (f != WeightFormat::F32 && f != WeightFormat::F16 && f != WeightFormat::Q8_0)
    return emitOpError() << "embedding tables in "
                         << stringifyWeightFormat(table.getFormat())
                         << " are not supported (expected f32, f16 or q8_0)";
  if (failed(requireStatic(*this, getOut(), "out")))
    return failure();
  if (numElements(getOut()) != table.getCols())
    return emitOpError() << "out has " << numElements(getOut())
                         << " elements but the table's rows have "
                         << table.getCols();
  return success();
}

LogicalResult RmsNormOp::verify() {
  PackedType gamma = getGamma().getType();
  if (gamma.getFormat() != WeightFormat::F32 || gamma.getRows() != 1)
    return emitOpError() << "gamma must be !lowbit.packed<f32, 1xG>, got "
                         << gamma;
  if (failed(requireSameLength(*this, getX(), "x", getOut(), "out")))
    return failure();
  auto xType = cast<MemRefType>(getX().getType());
  if (xType.getShape() != cast<MemRefType>(getOut().getType()).getShape())
    return emitOpError() << "x and out must have the same shape";
  int64_t row = xType.getShape().back();
  if (row % gamma.getCols() != 0)
    return emitOpError() << "length " << row
                         << " is not a multiple of the group size "
                         << gamma.getCols();
  if (!(getEps().convertToFloat() > 0.0f))
    return emitOpError() << "eps must be positive";
  return success();
}

LogicalResult RopeOp::verify() {
  if (failed(requireSameLength(*this, getX(), "x", getOut(), "out")) ||
      failed(requirePositive(*this, getHeadDim(), "head_dim")))
    return failure();
  if (getHeadDim() % 2 != 0)
    return emitOpError() << "head_dim must be even, got " << getHeadDim();
  if (numElements(getX()) % getHeadDim() != 0)
    return emitOpError() << "length " << numElements(getX())
                         << " is not a multiple of head_dim " << getHeadDim();
  if (!(getFreqBase().convertToDouble() > 1.0))
    return emitOpError() << "freq_base must be greater than 1";
  return success();
}

LogicalResult KvStoreOp::verify() {
  auto cache = cast<MemRefType>(getCache().getType());
  if (failed(requireStatic(*this, getX(), "x")) ||
      failed(requireStatic(*this, getCache(), "cache")))
    return failure();
  int64_t n = numElements(getX());
  if (cache.getElementType().isInteger(8)) {
    const int64_t qk = requiredBlockSize(WeightFormat::Q8_0);
    const int64_t rowBytes = n / qk * blockBytes(WeightFormat::Q8_0);
    if (n % qk != 0)
      return emitOpError() << "a Q8_0 (i8) cache needs x's length to be a multiple of " << qk
                           << ", got " << n;
    if (cache.getDimSize(1) != rowBytes)
      return emitOpError() << "Q8_0 cache rows have " << cache.getDimSize(1)
                           << " bytes but x's " << n << " elements need " << rowBytes;
    return success();
  }
  if (cache.getDimSize(1) != n)
    return emitOpError() << "cache rows have " << cache.getDimSize(1)
                         << " elements but x has " << n;
  return success();
}

LogicalResult AttentionOp::verify() {
  int64_t h = getNumHeads(), kv = getNumKvHeads(), d = getHeadDim();
  if (failed(requirePositive(*this, h, "num_heads")) ||
      failed(requirePositive(*this, kv, "num_kv_heads")) ||
      failed(requirePositive(*this, d, "head_dim")))
    return failure();
  if (h % kv != 0)
    return emitOpError() << "num_heads " << h
                         << " is not a multiple of num_kv_heads " << kv;
  if (failed(requireStatic(*this, getQ(), "q")) ||
      failed(requireStatic(*this, getKCache(), "k_cache")) ||
      failed(requireStatic(*this, getVCache(), "v_cache")) ||
      failed(requireStatic(*this, getScratch(), "scratch")))
    return failure();
  auto qType = cast<MemRefType>(getQ().getType());
  if (qType.getShape() != cast<MemRefType>(getOut().getType()).getShape())
    return emitOpError() << "q and out shapes differ";
  if (qType.getShape().back() != h * d)
    return emitOpError() << "q rows have " << qType.getShape().back()
                         << " elements, expected num_heads * head_dim = "
                         << h * d;
  auto kType = cast<MemRefType>(getKCache().getType());
  if (kType != getVCache().getType())
    return emitOpError() << "k_cache and v_cache types differ";
  if (kType.getElementType().isInteger(8)) {
    const int64_t qk = requiredBlockSize(WeightFormat::Q8_0),
                  qb = blockBytes(WeightFormat::Q8_0);
    if (d % qk != 0)
      return emitOpError() << "a Q8_0 (i8) cache needs head_dim to be a multiple of " << qk
                           << ", got " << d;
    if (kType.getDimSize(1) != kv * d / qk * qb)
      return emitOpError() << "Q8_0 cache rows have " << kType.getDimSize(1)
                           << " bytes, expected num_kv_heads * head_dim / " << qk << " * " << qb
                           << " = " << kv * d / qk * qb;
  } else if (kType.getDimSize(1) != kv * d) {
    return emitOpError() << "cache rows have " << kType.getDimSize(1)
                         << " elements, expected num_kv_heads * head_dim = "
                         << kv * d;
  }
  if (numElements(getScratch()) < kType.getDimSize(0))
    return emitOpError() << "scratch has " << numElements(getScratch())
                         << " elements but the context is "
                         << kType.getDimSize(0);
  if (qType.getRank() == 2 && qType.getDimSize(0) > kType.getDimSize(0))
    return emitOpError() << qType.getDimSize(0) << " query rows exceed the context of "
                         << kType.getDimSize(0);
  return success();
}

LogicalResult SwigluOp::verify() {
  if (failed(requireSameLength(*this, getGate(), "gate", getUp(), "up")) ||
      failed(requireSameLength(*this, getGate(), "gate", getOut(), "out")))
    return failure();
  return success();
}

LogicalResult AddOp::verify() {
  if (failed(requireSameLength(*this, getLhs(), "lhs", getRhs(), "rhs")) ||
      failed(requireSameLength(*this, getLhs(), "lhs", getOut(), "out")))
    return failure();
  return success();
}

namespace {
/// rope at position 0 rotates by angle 0: identity.
struct RopeAtZeroIsIdentity : public OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RopeOp op, PatternRewriter &rewriter) const override {
    APInt pos;
    if (!matchPattern(op.getPos(), m_ConstantInt(&pos)) || !pos.isZero())
      return failure();
    if (op.getX() != op.getOut())
      memref::CopyOp::create(rewriter, op.getLoc(), op.getX(), op.getOut());
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void RopeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<RopeAtZeroIsIdentity>(context);
}

bool hyc::lowbit::kernelShape(Operation *op, int64_t &n, int64_t &k, int64_t &kvHeads,
                              int64_t &rows) {
  auto rowsOf = [](Value x) {
    auto t = cast<MemRefType>(x.getType());
    return t.getRank() == 2 ? t.getDimSize(0) : 1;
  };
  auto length = [](Value x) { return cast<MemRefType>(x.getType()).getNumElements(); };
  kvHeads = 0;
  if (auto a = dyn_cast<AttentionOp>(op)) {
    n = a.getNumHeads(), k = a.getHeadDim(), kvHeads = a.getNumKvHeads();
    rows = rowsOf(a.getQ());
  } else if (auto r = dyn_cast<RmsNormOp>(op)) {
    k = r.getGamma().getType().getCols();
    n = length(r.getX()) / k, rows = rowsOf(r.getX());
  } else if (auto r = dyn_cast<RopeOp>(op)) {
    k = r.getHeadDim();
    n = length(r.getX()) / k, rows = rowsOf(r.getX());
  } else if (auto s = dyn_cast<SwigluOp>(op)) {
    n = 1, k = length(s.getOut()), rows = rowsOf(s.getOut());
  } else if (isa<QuantizeOp, RmsNormQuantizeOp>(op)) {
    Value x = op->getOperand(0);
    rows = rowsOf(x), n = rows, k = length(x) / rows;
  } else {
    return false;
  }
  return true;
}
