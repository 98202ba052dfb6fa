//===- ImportONNX.cpp - match an ONNX hunyuan-dense graph into the model ---===//
//
// The ONNX graph is matched backwards from `logits` into the structure
// BuildModule.cpp emits (tied lm_head <- final RMSNorm <- layers <- embedding
// Gather). Every node a pattern accepts is marked; a pattern that meets a
// node it does not expect fails naming that node, its op type and the block
// it sits in, and any node no pattern claimed is an error too.
//
// Accepted forms (docs/architecture.md, "ONNX input"):
//   RMSNorm    Mul(w, Div(x, Sqrt(Add(ReduceMean(Pow(x, 2)), eps)))) with
//              Mul(x, Reciprocal(..)) for the Div, Mul(x, x) for the Pow, any
//              operand order; or SimplifiedLayerNormalization(x, w)
//   RoPE       Add(Mul(x, cos), Mul(Concat(Neg(Slice(x, D/2:)), Slice(x, :D/2)), sin)),
//              cos/sin = Unsqueeze(Cos/Sin(Concat(f, f)), 1),
//              f = Mul(Unsqueeze(Cast(position_ids), 2), inv_freq)
//   attention  Softmax(Add(Mul(MatMul(q, Transpose(k)), 1/sqrt(D)), mask)) @ v,
//              k/v repeated with Unsqueeze/Expand/Reshape (GQA), mask =
//              Unsqueeze(Where(Greater(pos_k, pos_q), -inf, 0), 1)
//   SwiGLU     Mul(Mul(g, Sigmoid(g)), u)
//   linear     com.microsoft MatMulNBits (bits 2, 4 or 8; any block size; float
//              or packed zero points), MatMul over DequantizeLinear (int8, uint8,
//              int4, uint4; per-tensor, per-axis or blocked), MatMul over float
//              (float32/float16/bfloat16) initializers
// Every linear weight is dequantized to float and re-encoded as Q2_0C:
// losslessly when each 512-block lies on {-3,-1,1,3}*d with an fp16 d, else by
// a per-block scale search (least squares over the 4-level grid), with the
// error reported in ImportedModel::notes.
//
//===----------------------------------------------------------------------===//
#include "hyc/ModelImport.h"

#include "common/QuantTypes.h"
#include "onnx/ONNXFile.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

using namespace hyc;
using hyc::lowbit::WeightFormat;
using hyc::onnxfile::ONNXFile;
using hyc::onnxfile::TensorView;
using onnx::NodeProto;
using onnx::TensorProto;

namespace {
constexpr int64_t kMinOpset = 18; // ReduceMean's axes as an input

/// float -> IEEE binary16, round to nearest even (overflow to inf).
uint16_t floatToFp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7FFFFFFFu;
  if (absx >= 0x7F800000u) // inf / nan
    return static_cast<uint16_t>(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0));
  if (absx >= 0x477FF000u) // rounds to >= 65520: overflow
    return static_cast<uint16_t>(sign | 0x7C00u);
  if (absx < 0x38800000u) { // subnormal half (or zero)
    float a;
    std::memcpy(&a, &absx, 4);
    // a * 2^24 rounded to nearest even gives the subnormal's mantissa.
    float m = std::nearbyint(a * 16777216.0f);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(m));
  }
  uint32_t mant = absx & 0x7FFFFFu;
  int32_t exp = static_cast<int32_t>(absx >> 23) - 127 + 15;
  uint32_t h = (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
    ++h;
  return static_cast<uint16_t>(sign | h);
}

/// Q2_0C encoding of a float matrix [rows][cols] (cols a multiple of 512).
struct Quantized {
  std::vector<uint8_t> bytes;
  int64_t lossyBlocks = 0, blocks = 0;
  double errSq = 0, refSq = 0, maxAbsErr = 0;
};

/// Codes and fp16 scale for one block; true when the block is exactly
/// representable (lossless).
bool exactBlock(const float *w, uint16_t &dOut, uint8_t *codes) {
  float m = 0;
  for (int i = 0; i < 512; ++i)
    m = std::max(m, std::fabs(w[i]));
  if (m == 0) {
    dOut = 0;
    std::fill(codes, codes + 512, 2); // (2*2-3)*0 = 0
    return true;
  }
  for (float cand : {m / 3.0f, m}) {
    uint16_t h = floatToFp16(cand);
    float d = fp16ToFloat(h);
    if (!(d > 0) || !std::isfinite(d))
      continue;
    // Exact comparisons: 3d is exact in float for an fp16 d.
    const float d3 = 3.0f * d;
    // Branch-free (random signs and levels would defeat the branch predictor):
    // code 2 + is3 for positive values, 1 - is3 for negative ones.
    int bad = 0;
    for (int i = 0; i < 512; ++i) {
      float a = std::fabs(w[i]);
      int is1 = a == d, is3 = a == d3, neg = std::signbit(w[i]);
      bad |= !(is1 | is3);
      codes[i] = static_cast<uint8_t>(2 + is3 - neg - 2 * neg * is3);
    }
    bool ok = !bad;
    if (ok) {
      dOut = h;
      return true;
    }
  }
  return false;
}

/// SEQ: the fp16 scale d and codes minimising sum (w - (2c-3) d)^2 over a
/// grid of clipping points, each refined by least squares.
void searchBlock(const float *w, uint16_t &dOut, uint8_t *codes) {
  float m = 0;
  for (int i = 0; i < 512; ++i)
    m = std::max(m, std::fabs(w[i]));
  auto assign = [&](float d, uint8_t *c, double &err) {
    err = 0;
    double num = 0, den = 0;
    for (int i = 0; i < 512; ++i) {
      float l = w[i] / d;
      int ci = l < -2 ? 0 : l < 0 ? 1 : l < 2 ? 2 : 3;
      c[i] = static_cast<uint8_t>(ci);
      double lv = 2 * ci - 3, e = w[i] - lv * d;
      err += e * e;
      num += w[i] * lv;
      den += lv * lv;
    }
    return num / den; // the least-squares scale for these codes
  };
  double best = INFINITY;
  uint8_t tmp[512];
  for (int s = 1; s <= 40; ++s) {
    float d = m / 3.0f * (0.2f + 0.8f * s / 40.0f);
    for (int iter = 0; iter < 3 && d > 0; ++iter) {
      double err;
      float dq = fp16ToFloat(floatToFp16(d));
      if (!(dq > 0))
        break;
      double ls = assign(dq, tmp, err);
      if (err < best) {
        best = err;
        dOut = floatToFp16(dq);
        std::memcpy(codes, tmp, 512);
      }
      d = static_cast<float>(ls);
    }
  }
}

Quantized quantizeQ2_0C(const std::vector<float> &w, int64_t rows, int64_t cols) {
  Quantized q;
  int64_t nb = cols / 512;
  q.bytes.resize(static_cast<size_t>(rows * nb * 130));
  uint8_t codes[512];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < nb; ++b) {
      const float *src = w.data() + r * cols + b * 512;
      uint16_t d = 0;
      ++q.blocks;
      bool exact = exactBlock(src, d, codes);
      if (!exact) {
        ++q.lossyBlocks;
        searchBlock(src, d, codes);
      }
      uint8_t *dst = q.bytes.data() + (r * nb + b) * 130;
      dst[0] = static_cast<uint8_t>(d & 0xFF);
      dst[1] = static_cast<uint8_t>(d >> 8);
      for (int i = 0; i < 128; ++i)
        dst[2 + i] = static_cast<uint8_t>(codes[4 * i] | (codes[4 * i + 1] << 2) |
                                          (codes[4 * i + 2] << 4) | (codes[4 * i + 3] << 6));
      float df = fp16ToFloat(d), ref = 0;
      for (int i = 0; i < 512; ++i)
        ref += src[i] * src[i];
      q.refSq += ref;
      for (int i = 0; i < 512 && !exact; ++i) {
        double e = static_cast<double>(src[i]) - (2.0f * codes[i] - 3.0f) * df;
        q.errSq += e * e;
        q.maxAbsErr = std::max(q.maxAbsErr, std::fabs(e));
      }
    }
  return q;
}

std::string shapeText(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

/// A float view of a tensor's elements (FLOAT, FLOAT16, BFLOAT16, DOUBLE).
bool toFloats(const TensorView &t, std::vector<float> &out) {
  out.resize(static_cast<size_t>(t.numElements));
  switch (t.dataType) {
  case TensorProto::FLOAT:
    std::memcpy(out.data(), t.data, static_cast<size_t>(t.bytes));
    return true;
  case TensorProto::DOUBLE:
    for (int64_t i = 0; i < t.numElements; ++i) {
      double v;
      std::memcpy(&v, t.data + 8 * i, 8);
      out[i] = static_cast<float>(v);
    }
    return true;
  case TensorProto::FLOAT16:
  case TensorProto::BFLOAT16:
    for (int64_t i = 0; i < t.numElements; ++i) {
      uint16_t h = static_cast<uint16_t>(t.data[2 * i] | (t.data[2 * i + 1] << 8));
      out[i] = t.dataType == TensorProto::FLOAT16 ? fp16ToFloat(h) : bf16ToFloat(h);
    }
    return true;
  default:
    return false;
  }
}

/// Integer code i of a quantized tensor (INT8/UINT8/INT4/UINT4/INT32).
int32_t codeAt(const TensorView &t, int64_t i) {
  switch (t.dataType) {
  case TensorProto::INT8:
    return static_cast<int8_t>(t.data[i]);
  case TensorProto::UINT8:
    return t.data[i];
  case TensorProto::UINT4:
    return (t.data[i / 2] >> (4 * (i & 1))) & 0xF;
  case TensorProto::INT4: {
    int v = (t.data[i / 2] >> (4 * (i & 1))) & 0xF;
    return v >= 8 ? v - 16 : v;
  }
  default:
    return 0;
  }
}

bool isIntegerCodeType(int32_t t) {
  return t == TensorProto::INT8 || t == TensorProto::UINT8 || t == TensorProto::INT4 ||
         t == TensorProto::UINT4;
}

class Matcher {
public:
  Matcher(ONNXFile &file, ImportedModel &model) : file(file), model(model) {}
  bool run(std::string &errorOut);

private:
  // --- graph access -------------------------------------------------------
  std::string describe(const NodeProto *n) const {
    std::string name = n->name().empty() ? "#" + std::to_string(nodeIndex.at(n)) : n->name();
    std::string op = n->domain().empty() || n->domain() == "ai.onnx"
                         ? n->op_type()
                         : n->domain() + "." + n->op_type();
    return "node '" + name + "' (" + op + ")";
  }
  std::string describeValue(const std::string &v) const {
    auto it = producer.find(v);
    if (it != producer.end())
      return "'" + v + "' from " + describe(it->second);
    if (initializers.count(v))
      return "initializer '" + v + "'";
    if (graphInputs.count(v))
      return "graph input '" + v + "'";
    return "'" + v + "' (defined nowhere)";
  }
  bool fail(const std::string &msg) {
    if (error.empty())
      error = printable(file.path() + ": " + (where.empty() ? "" : where + ": ") + msg);
    return false;
  }
  /// Names come from the file: control bytes and invalid UTF-8 as \xNN.
  static std::string printable(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      unsigned char b = static_cast<unsigned char>(s[i]);
      size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3
                              : (b & 0xF8) == 0xF0   ? 4
                                                     : 0;
      bool ok = len > 0 && i + len <= s.size() && (len > 1 || b >= 0x20) && b != 0x7F;
      for (size_t k = 1; ok && k < len; ++k)
        ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (ok) {
        out.append(s, i, len);
        i += len;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02X", b);
        out += buf;
        ++i;
      }
    }
    return out;
  }
  void mark(const NodeProto *n) {
    if (!matchedWhere.count(n))
      matchedWhere[n] = where;
  }
  static bool isOp(const NodeProto *n, const char *op, const char *domain = "") {
    bool defaultDomain = n->domain().empty() || n->domain() == "ai.onnx";
    bool wantDefault = domain[0] == 0;
    return n->op_type() == op && (wantDefault ? defaultDomain : n->domain() == domain);
  }
  const NodeProto *def(const std::string &v) const {
    auto it = producer.find(v);
    return it == producer.end() ? nullptr : it->second;
  }
  /// The node of op type \p op producing \p v; fails naming what is there.
  const NodeProto *expect(const std::string &v, const char *op, const std::string &role,
                          size_t minInputs = 1, const char *domain = "") {
    const NodeProto *n = def(v);
    if (!n) {
      fail(role + " should be computed by " + op + ", but it is " + describeValue(v));
      return nullptr;
    }
    if (!isOp(n, op, domain)) {
      fail(role + " should be computed by " + op + ", but it comes from " + describe(n));
      return nullptr;
    }
    if (static_cast<size_t>(n->input_size()) < minInputs) {
      fail(describe(n) + " has " + std::to_string(n->input_size()) + " inputs, " + op +
           " needs " + std::to_string(minInputs));
      return nullptr;
    }
    mark(n);
    return n;
  }
  const onnx::AttributeProto *attr(const NodeProto *n, const char *name) const {
    for (const onnx::AttributeProto &a : n->attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  int64_t attrInt(const NodeProto *n, const char *name, int64_t dflt) const {
    const onnx::AttributeProto *a = attr(n, name);
    return a ? a->i() : dflt;
  }
  float attrFloat(const NodeProto *n, const char *name, float dflt) const {
    const onnx::AttributeProto *a = attr(n, name);
    return a ? a->f() : dflt;
  }
  std::vector<int64_t> attrInts(const NodeProto *n, const char *name) const {
    const onnx::AttributeProto *a = attr(n, name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end())
             : std::vector<int64_t>();
  }
  /// Constant tensor: an initializer or a Constant node's value.
  bool constant(const std::string &v, TensorView &out, const std::string &role) {
    auto it = initializers.find(v);
    const TensorProto *t = nullptr;
    if (it != initializers.end()) {
      t = it->second;
    } else if (const NodeProto *n = def(v); n && isOp(n, "Constant")) {
      const onnx::AttributeProto *a = attr(n, "value");
      if (!a || !a->has_t())
        return fail(describe(n) + " (" + role + ") has no tensor 'value' attribute");
      mark(n);
      t = &a->t();
    } else {
      return fail(role + " should be a constant (initializer or Constant), but it is " +
                  describeValue(v));
    }
    std::string err;
    if (!file.tensor(*t, out, err))
      return fail(role + ": " + err);
    return true;
  }
  bool constFloat(const std::string &v, double &out, const std::string &role) {
    TensorView t;
    std::vector<float> f;
    if (!constant(v, t, role))
      return false;
    if (t.numElements != 1 || !toFloats(t, f))
      return fail(role + " should be a float scalar, but '" + v + "' is " +
                  onnxfile::dataTypeName(t.dataType) + " " + shapeText(t.dims));
    out = f[0];
    return true;
  }
  bool constInts(const std::string &v, std::vector<int64_t> &out, const std::string &role) {
    TensorView t;
    if (!constant(v, t, role))
      return false;
    out.clear();
    if (t.dataType == TensorProto::INT64) {
      for (int64_t i = 0; i < t.numElements; ++i) {
        int64_t x;
        std::memcpy(&x, t.data + 8 * i, 8);
        out.push_back(x);
      }
    } else if (t.dataType == TensorProto::INT32) {
      for (int64_t i = 0; i < t.numElements; ++i) {
        int32_t x;
        std::memcpy(&x, t.data + 4 * i, 4);
        out.push_back(x);
      }
    } else {
      return fail(role + " should be an integer constant, but '" + v + "' is " +
                  onnxfile::dataTypeName(t.dataType));
    }
    return true;
  }
  /// Unsqueeze(x, axes) with the given axes (input since opset 13, or attribute).
  const NodeProto *expectUnsqueeze(const std::string &v, std::vector<int64_t> axes,
                                   const std::string &role) {
    const NodeProto *n = expect(v, "Unsqueeze", role);
    if (!n)
      return nullptr;
    std::vector<int64_t> got = attrInts(n, "axes");
    if (n->input_size() >= 2 && !constInts(n->input(1), got, role + " axes"))
      return nullptr;
    if (got != axes) {
      fail(describe(n) + " (" + role + ") unsqueezes axes " + shapeText(got) + ", expected " +
           shapeText(axes));
      return nullptr;
    }
    return n;
  }
  bool lastAxis(int64_t axis, int64_t rank) { return axis == -1 || axis == rank - 1; }

  // --- patterns -----------------------------------------------------------
  bool matchRMSNorm(const std::string &out, int64_t dim, const std::string &weightName,
                    std::string &x);
  bool matchLinear(const std::string &out, int64_t wantK, int64_t wantN,
                   const std::string &weightName, std::string &x);
  bool linearWeights(const NodeProto *n, bool nbits, std::vector<float> &w, int64_t &N,
                     int64_t &K);
  bool matchRoPE(const std::string &out, std::string &x);
  bool matchRopeCaches(const NodeProto *rope);
  bool setRopeBase(double base, const std::vector<float> &inv, const std::string &what);
  bool matchGQA(const std::string &l, const NodeProto *gqa, int64_t qDim, std::string &h);
  bool matchRopeTables(const std::string &cos, const std::string &sin);
  bool matchMask(const std::string &mask);
  bool matchHeads(const std::string &v, int64_t &nHeads, std::string &linearOut);
  bool matchRepeatKV(const std::string &v, std::string &x);
  bool matchLayer(int64_t layer, const std::string &out, std::string &in);
  bool matchEmbedding(const std::string &table);
  bool isPositions(const std::string &v, const std::string &role);
  bool addWeight(const std::string &name, WeightFormat format, int64_t rows, int64_t cols,
                 const uint8_t *src, int64_t bytes);
  bool addNormWeight(const std::string &name, const std::string &value, int64_t dim);
  bool addLinearWeight(const std::string &name, const std::vector<float> &w, int64_t rows,
                       int64_t cols);

  ONNXFile &file;
  ImportedModel &model;
  std::string error, where;
  std::unordered_map<std::string, const NodeProto *> producer;
  std::unordered_map<std::string, const TensorProto *> initializers;
  std::unordered_map<const NodeProto *, int> nodeIndex;
  std::map<std::string, int32_t> graphInputs; // name -> elem type
  std::map<const NodeProto *, std::string> matchedWhere;
  std::string positionsInput, tokensInput, maskValue, cosValue, sinValue, embedTable;
  std::set<std::string> cacheInputs;  // GroupQueryAttention's past kv / lengths (runtime state)
  std::set<std::string> cacheOutputs; // its present kv
  bool haveEps = false;
  int64_t nHead = 0, nHeadKv = 0, headDim = 0;
  // Weights by GGUF-style name, laid out in the order importGGUF uses.
  std::map<std::string, WeightEntry> pending;
  Quantized totals;
  int64_t exactTensors = 0, lossyTensors = 0;
};

bool Matcher::addWeight(const std::string &name, WeightFormat format, int64_t rows,
                        int64_t cols, const uint8_t *src, int64_t bytes) {
  WeightEntry e;
  e.name = name;
  e.format = format;
  e.rows = rows;
  e.cols = cols;
  e.source = src;
  e.bytes = bytes;
  pending[name] = e;
  return true;
}

bool Matcher::addNormWeight(const std::string &name, const std::string &value, int64_t dim) {
  TensorView t;
  if (!constant(value, t, "the " + name + " scale"))
    return false;
  std::vector<float> f;
  if (t.numElements != dim || !toFloats(t, f))
    return fail("the norm scale '" + value + "' is " + onnxfile::dataTypeName(t.dataType) +
                " " + shapeText(t.dims) + ", expected " + std::to_string(dim) +
                " floats (" + name + ")");
  auto buf = std::make_unique<std::vector<uint8_t>>(static_cast<size_t>(dim * 4));
  std::memcpy(buf->data(), f.data(), buf->size());
  const uint8_t *src = buf->data();
  model.ownedData.push_back(std::move(buf));
  return addWeight(name, WeightFormat::F32, 1, dim, src, dim * 4);
}

bool Matcher::addLinearWeight(const std::string &name, const std::vector<float> &w,
                              int64_t rows, int64_t cols) {
  if (cols % 512 != 0)
    return fail("the linear weight " + name + " has rows of " + std::to_string(cols) +
                " inputs; Q2_0C needs a multiple of 512");
  for (float v : w)
    if (!std::isfinite(v))
      return fail("the linear weight " + name + " holds a non-finite value");
  Quantized q = quantizeQ2_0C(w, rows, cols);
  totals.blocks += q.blocks;
  totals.lossyBlocks += q.lossyBlocks;
  totals.errSq += q.errSq;
  totals.refSq += q.refSq;
  totals.maxAbsErr = std::max(totals.maxAbsErr, q.maxAbsErr);
  if (q.lossyBlocks) {
    ++lossyTensors;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s: %lld of %lld blocks off the 4-level grid, quantized (relative RMS "
                  "error %.4f, max |error| %.3g)",
                  name.c_str(), static_cast<long long>(q.lossyBlocks),
                  static_cast<long long>(q.blocks),
                  q.refSq > 0 ? std::sqrt(q.errSq / q.refSq) : 0.0, q.maxAbsErr);
    model.notes.push_back(buf);
  } else {
    ++exactTensors;
  }
  auto buf = std::make_unique<std::vector<uint8_t>>(std::move(q.bytes));
  const uint8_t *src = buf->data();
  int64_t bytes = static_cast<int64_t>(buf->size());
  model.ownedData.push_back(std::move(buf));
  return addWeight(name, WeightFormat::Q2_0C, rows, cols, src, bytes);
}

bool Matcher::isPositions(const std::string &v, const std::string &role) {
  auto it = graphInputs.find(v);
  if (it == graphInputs.end() || initializers.count(v))
    return fail(role + " should be the position ids (a graph input), but it is " +
                describeValue(v));
  if (it->second != TensorProto::INT64 && it->second != TensorProto::INT32)
    return fail("graph input '" + v + "' (position ids) is " +
                onnxfile::dataTypeName(it->second) + ", expected INT64 or INT32");
  if (positionsInput.empty())
    positionsInput = v;
  else if (positionsInput != v)
    return fail(role + " reads graph input '" + v + "', but other patterns read '" +
                positionsInput + "' as the position ids");
  return true;
}

bool Matcher::matchRMSNorm(const std::string &out, int64_t dim, const std::string &weightName,
                           std::string &x) {
  const NodeProto *n = def(out);
  double eps;
  std::string weight;
  if (n && isOp(n, "SimplifiedLayerNormalization")) {
    mark(n);
    if (n->input_size() < 2)
      return fail(describe(n) + " has no scale input");
    for (int i = 1; i < n->output_size(); ++i)
      if (!n->output(i).empty())
        return fail(describe(n) + ": its optional output '" + n->output(i) +
                    "' is not supported");
    if (int64_t axis = attrInt(n, "axis", -1); axis != -1)
      return fail(describe(n) + " normalizes axis " + std::to_string(axis) +
                  ", expected the last axis (-1)");
    eps = attrFloat(n, "epsilon", 1e-5f);
    x = n->input(0);
    weight = n->input(1);
  } else {
    const NodeProto *mul = expect(out, "Mul", "an RMSNorm output (" + weightName + ")", 2);
    if (!mul)
      return false;
    // One operand is the scale (constant), the other x / rms.
    int wi = initializers.count(mul->input(0)) ||
                     (def(mul->input(0)) && isOp(def(mul->input(0)), "Constant"))
                 ? 0
                 : 1;
    weight = mul->input(wi);
    std::string normed = mul->input(1 - wi), s;
    const NodeProto *d = def(normed);
    if (d && isOp(d, "Div")) {
      mark(d);
      x = d->input(0);
      s = d->input(1);
    } else {
      const NodeProto *m2 = expect(normed, "Mul", "x / rms (RMSNorm, " + weightName + ")", 2);
      if (!m2)
        return false;
      int ri = def(m2->input(0)) && isOp(def(m2->input(0)), "Reciprocal") ? 0 : 1;
      const NodeProto *rec = expect(m2->input(ri), "Reciprocal", "1 / rms (RMSNorm)");
      if (!rec)
        return false;
      x = m2->input(1 - ri);
      s = rec->input(0);
    }
    const NodeProto *sq = expect(s, "Sqrt", "rms (RMSNorm, " + weightName + ")");
    if (!sq)
      return false;
    const NodeProto *add = expect(sq->input(0), "Add", "mean(x^2) + eps (RMSNorm)", 2);
    if (!add)
      return false;
    const NodeProto *a0 = def(add->input(0));
    int mi = a0 && isOp(a0, "ReduceMean") ? 0 : 1;
    if (!constFloat(add->input(1 - mi), eps, "the RMSNorm epsilon"))
      return false;
    const NodeProto *rm = expect(add->input(mi), "ReduceMean", "mean(x^2) (RMSNorm)");
    if (!rm)
      return false;
    std::vector<int64_t> axes = attrInts(rm, "axes");
    if (rm->input_size() >= 2 && !rm->input(1).empty() &&
        !constInts(rm->input(1), axes, "ReduceMean axes"))
      return false;
    if (axes != std::vector<int64_t>{-1} || attrInt(rm, "keepdims", 1) != 1)
      return fail(describe(rm) + " must reduce axes [-1] with keepdims=1 (got axes " +
                  shapeText(axes) + ")");
    const NodeProto *sqr = def(rm->input(0));
    if (sqr && isOp(sqr, "Mul") && sqr->input_size() == 2 && sqr->input(0) == sqr->input(1)) {
      mark(sqr);
    } else {
      sqr = expect(rm->input(0), "Pow", "x^2 (RMSNorm)", 2);
      if (!sqr)
        return false;
      double p;
      if (!constFloat(sqr->input(1), p, "the RMSNorm exponent"))
        return false;
      if (p != 2.0)
        return fail(describe(sqr) + " raises to the power " + std::to_string(p) +
                    ", RMSNorm squares");
    }
    if (sqr->input(0) != x)
      return fail(describe(sqr) + " squares " + describeValue(sqr->input(0)) +
                  " but the norm divides " + describeValue(x) + ": not an RMSNorm");
  }
  if (!(eps > 0 && eps < 1))
    return fail("RMSNorm epsilon " + std::to_string(eps) + " is out of range");
  if (!haveEps) {
    model.config.rmsEps = static_cast<float>(eps);
    haveEps = true;
  } else if (static_cast<float>(eps) != model.config.rmsEps) {
    return fail("RMSNorm epsilon " + std::to_string(eps) + " differs from the model's " +
                std::to_string(model.config.rmsEps) + " (one epsilon for all norms)");
  }
  return addNormWeight(weightName, weight, dim);
}

bool Matcher::linearWeights(const NodeProto *n, bool nbits, std::vector<float> &w, int64_t &N,
                            int64_t &K) {
  if (nbits) {
    // com.microsoft MatMulNBits: B [N, n_blocks, blob], scales [N * n_blocks],
    // zero points packed like B or in the scales' type; w = (q - zp) * scale.
    K = attrInt(n, "K", 0);
    N = attrInt(n, "N", 0);
    int64_t bits = attrInt(n, "bits", 4), bs = attrInt(n, "block_size", 0);
    if (bits != 2 && bits != 4 && bits != 8)
      return fail(describe(n) + " has bits=" + std::to_string(bits) +
                  "; hyc reads MatMulNBits with 2, 4 or 8 bits");
    if (bs < 16 || (bs & (bs - 1)) || bs > (1 << 20) || K <= 0 || N <= 0 || K > (1 << 30) ||
        N > (1 << 30))
      return fail(describe(n) + " has K=" + std::to_string(K) + ", N=" + std::to_string(N) +
                  ", block_size=" + std::to_string(bs) +
                  " (need K, N in 1..2^30 and a power-of-two block size in 16..2^20)");
    for (int i = 4; i < n->input_size(); ++i)
      if (!n->input(i).empty())
        return fail(describe(n) + " uses input " + std::to_string(i) +
                    (i == 4 ? " (g_idx)" : " (bias)") + ", which hyc does not support");
    int64_t nb = (K + bs - 1) / bs, blob = bs * bits / 8;
    TensorView B, S, Z;
    if (!constant(n->input(1), B, "MatMulNBits weights") ||
        !constant(n->input(2), S, "MatMulNBits scales"))
      return false;
    if (B.dataType != TensorProto::UINT8 || B.numElements != N * nb * blob)
      return fail(describe(n) + ": weights '" + n->input(1) + "' are " +
                  onnxfile::dataTypeName(B.dataType) + " " + shapeText(B.dims) +
                  ", expected UINT8 [" + std::to_string(N) + ", " + std::to_string(nb) + ", " +
                  std::to_string(blob) + "] for bits=" + std::to_string(bits) +
                  ", block_size=" + std::to_string(bs));
    std::vector<float> scales, zf;
    if (!toFloats(S, scales) || S.numElements != N * nb)
      return fail(describe(n) + ": scales '" + n->input(2) + "' are " +
                  onnxfile::dataTypeName(S.dataType) + " " + shapeText(S.dims) +
                  ", expected " + std::to_string(N * nb) + " floats");
    bool haveZ = n->input_size() >= 4 && !n->input(3).empty(), packedZ = false;
    int64_t zRow = (nb * bits + 7) / 8;
    if (haveZ) {
      if (!constant(n->input(3), Z, "MatMulNBits zero points"))
        return false;
      if (Z.dataType == TensorProto::UINT8 && Z.numElements == N * zRow)
        packedZ = true;
      else if (!toFloats(Z, zf) || Z.numElements != N * nb)
        return fail(describe(n) + ": zero points '" + n->input(3) + "' are " +
                    onnxfile::dataTypeName(Z.dataType) + " " + shapeText(Z.dims) +
                    ", expected UINT8 [" + std::to_string(N * zRow) + "] or " +
                    std::to_string(N * nb) + " floats");
    }
    w.assign(static_cast<size_t>(N * K), 0.0f);
    int mask = (1 << bits) - 1;
    for (int64_t r = 0; r < N; ++r)
      for (int64_t b = 0; b < nb; ++b) {
        float zp = static_cast<float>(1 << (bits - 1));
        if (packedZ) {
          int64_t bit = b * bits;
          zp = static_cast<float>((Z.data[r * zRow + bit / 8] >> (bit % 8)) & mask);
        } else if (haveZ) {
          zp = zf[r * nb + b];
        }
        float sc = scales[r * nb + b];
        const uint8_t *blk = B.data + (r * nb + b) * blob;
        for (int64_t j = 0; j < bs && b * bs + j < K; ++j) {
          int64_t bit = j * bits;
          int q = (blk[bit / 8] >> (bit % 8)) & mask;
          w[r * K + b * bs + j] = (static_cast<float>(q) - zp) * sc;
        }
      }
    return true;
  }
  // MatMul(x, W) with W [K, N]: a float initializer or DequantizeLinear.
  const std::string &wv = n->input(1);
  const NodeProto *dq = def(wv);
  std::vector<float> kn; // [K][N]
  if (dq && isOp(dq, "DequantizeLinear")) {
    mark(dq);
    TensorView Q, S, Z;
    if (!constant(dq->input(0), Q, "DequantizeLinear codes") ||
        !constant(dq->input(1), S, "DequantizeLinear scales"))
      return false;
    if (!isIntegerCodeType(Q.dataType) || Q.dims.size() != 2)
      return fail(describe(dq) + ": codes '" + dq->input(0) + "' are " +
                  onnxfile::dataTypeName(Q.dataType) + " " + shapeText(Q.dims) +
                  "; hyc reads 2-D INT8, UINT8, INT4 or UINT4 codes");
    K = Q.dims[0];
    N = Q.dims[1];
    std::vector<float> sc, zp;
    if (!toFloats(S, sc))
      return fail(describe(dq) + ": scales '" + dq->input(1) + "' are " +
                  onnxfile::dataTypeName(S.dataType) + ", expected floats");
    bool haveZ = dq->input_size() >= 3 && !dq->input(2).empty();
    if (haveZ) {
      if (!constant(dq->input(2), Z, "DequantizeLinear zero points"))
        return false;
      if (Z.dataType != Q.dataType || Z.numElements != S.numElements)
        return fail(describe(dq) + ": zero points '" + dq->input(2) +
                    "' must have the codes' type and the scales' shape");
    }
    int64_t axis = attrInt(dq, "axis", 1), bs = attrInt(dq, "block_size", 0);
    if (axis < 0)
      axis += 2;
    // Scale index of element (k, n): per tensor, per axis, or blocked.
    std::function<int64_t(int64_t, int64_t)> idx;
    bool shapeOk;
    if (S.numElements == 1 && S.dims.size() <= 1) {
      idx = [](int64_t, int64_t) { return int64_t(0); };
      shapeOk = true;
    } else if (axis != 0 && axis != 1) {
      return fail(describe(dq) + " has axis " + std::to_string(attrInt(dq, "axis", 1)) +
                  " for 2-D codes");
    } else if (bs == 0) {
      shapeOk = S.dims.size() == 1 && S.dims[0] == Q.dims[axis];
      idx = [axis](int64_t k, int64_t n) { return axis == 0 ? k : n; };
    } else {
      std::vector<int64_t> want = Q.dims;
      want[axis] = (want[axis] + bs - 1) / bs;
      shapeOk = bs > 0 && S.dims == want;
      int64_t cols = want[1];
      idx = [axis, bs, cols](int64_t k, int64_t n) {
        return axis == 0 ? (k / bs) * cols + n : k * cols + n / bs;
      };
    }
    if (!shapeOk)
      return fail(describe(dq) + ": scales " + shapeText(S.dims) + " do not fit codes " +
                  shapeText(Q.dims) + " with axis " + std::to_string(axis) + ", block_size " +
                  std::to_string(bs));
    kn.resize(static_cast<size_t>(K * N));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < N; ++c) {
        int64_t i = idx(k, c);
        float z = haveZ ? static_cast<float>(codeAt(Z, i)) : 0.0f;
        kn[k * N + c] = (static_cast<float>(codeAt(Q, k * N + c)) - z) * sc[i];
      }
  } else {
    TensorView W;
    if (!constant(wv, W, "the MatMul weight"))
      return false;
    if (W.dims.size() != 2 || !toFloats(W, kn))
      return fail(describe(n) + ": weight '" + wv + "' is " +
                  onnxfile::dataTypeName(W.dataType) + " " + shapeText(W.dims) +
                  ", expected a 2-D float tensor [K, N]");
    K = W.dims[0];
    N = W.dims[1];
  }
  w.resize(static_cast<size_t>(N * K));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < N; ++c)
      w[c * K + k] = kn[k * N + c];
  return true;
}

bool Matcher::matchLinear(const std::string &out, int64_t wantK, int64_t wantN,
                          const std::string &weightName, std::string &x) {
  const NodeProto *n = def(out);
  std::string role = "the " + weightName + " projection";
  bool nbits = n && isOp(n, "MatMulNBits", "com.microsoft");
  if (!n || (!nbits && !isOp(n, "MatMul"))) {
    fail(role + " should be a MatMul or com.microsoft.MatMulNBits, but it is " +
         describeValue(out));
    return false;
  }
  mark(n);
  if (n->input_size() < (nbits ? 3 : 2))
    return fail(describe(n) + " has too few inputs");
  x = n->input(0);
  std::vector<float> w;
  int64_t N = 0, K = 0;
  if (!linearWeights(n, nbits, w, N, K))
    return false;
  if ((wantK && K != wantK) || (wantN && N != wantN))
    return fail(describe(n) + " (" + weightName + ") maps " + std::to_string(K) + " -> " +
                std::to_string(N) + " features, but the model needs " + std::to_string(wantK) +
                " -> " + std::to_string(wantN));
  return addLinearWeight(weightName, w, N, K);
}

bool Matcher::matchRopeTables(const std::string &cosV, const std::string &sinV) {
  if (!cosValue.empty()) {
    if (cosV != cosValue || sinV != sinValue)
      return fail("RoPE reads cos/sin tables " + describeValue(cosV) + " / " +
                  describeValue(sinV) + ", but other layers read " + cosValue + " / " +
                  sinValue + " (one table for all layers)");
    return true;
  }
  std::string saved = where;
  where = "RoPE tables";
  const NodeProto *uc = expectUnsqueeze(cosV, {1}, "the RoPE cos table");
  const NodeProto *us = uc ? expectUnsqueeze(sinV, {1}, "the RoPE sin table") : nullptr;
  if (!us)
    return false;
  const NodeProto *c = expect(uc->input(0), "Cos", "the RoPE cos table");
  const NodeProto *s = c ? expect(us->input(0), "Sin", "the RoPE sin table") : nullptr;
  if (!s)
    return false;
  if (c->input(0) != s->input(0))
    return fail(describe(c) + " and " + describe(s) + " take different angles");
  const NodeProto *cat = expect(c->input(0), "Concat", "the RoPE angles (Concat(f, f))", 2);
  if (!cat)
    return false;
  if (cat->input_size() != 2 || cat->input(0) != cat->input(1) ||
      !lastAxis(attrInt(cat, "axis", 0), 3))
    return fail(describe(cat) + " must concatenate the same frequencies twice on the last "
                                "axis (NEOX RoPE, rotate-half)");
  const NodeProto *mul = expect(cat->input(0), "Mul", "position * inv_freq (RoPE)", 2);
  if (!mul)
    return false;
  const NodeProto *m0 = def(mul->input(0));
  int ui = m0 && isOp(m0, "Unsqueeze") ? 0 : 1;
  const NodeProto *un = expectUnsqueeze(mul->input(ui), {2}, "the RoPE positions");
  if (!un)
    return false;
  const NodeProto *cast = expect(un->input(0), "Cast", "the RoPE positions as float");
  if (!cast)
    return false;
  if (attrInt(cast, "to", 0) != TensorProto::FLOAT)
    return fail(describe(cast) + " must cast to FLOAT");
  if (!isPositions(cast->input(0), "the RoPE positions"))
    return false;
  TensorView f;
  std::vector<float> inv;
  if (!constant(mul->input(1 - ui), f, "the RoPE inverse frequencies"))
    return false;
  if (!toFloats(f, inv) || f.numElements != headDim / 2)
    return fail("the RoPE inverse frequencies '" + mul->input(1 - ui) + "' are " +
                onnxfile::dataTypeName(f.dataType) + " " + shapeText(f.dims) + ", expected " +
                std::to_string(headDim / 2) + " floats (head_dim / 2)");
  // inv_freq[i] = base^(-2i/D); the base from the last entry, every entry checked.
  int64_t half = headDim / 2;
  if (half < 2 || !(inv[half - 1] > 0))
    return fail("the RoPE inverse frequencies are not base^(-2i/head_dim)");
  double base = std::exp(-std::log(static_cast<double>(inv[half - 1])) *
                         static_cast<double>(headDim) / (2.0 * (half - 1)));
  if (!setRopeBase(base, inv, "the RoPE inverse frequencies '" + mul->input(1 - ui) + "'"))
    return false;
  cosValue = cosV;
  sinValue = sinV;
  where = saved;
  return true;
}

bool Matcher::setRopeBase(double base, const std::vector<float> &inv, const std::string &what) {
  for (size_t i = 0; i < inv.size(); ++i) {
    double want = std::pow(base, -2.0 * static_cast<double>(i) / headDim);
    if (std::fabs(inv[i] - want) > 1e-5 * want)
      return fail(what + " are not base^(-2i/" + std::to_string(headDim) + ") (entry " +
                  std::to_string(i) + " = " + std::to_string(inv[i]) + ", expected " +
                  std::to_string(want) + " for base " + std::to_string(base) + ")");
  }
  if (!(base > 1))
    return fail("the RoPE base " + std::to_string(base) + " is out of range");
  // Stored rounded to float32, as GGUF's rope.freq_base is: the same model
  // from either format then compiles to the same code.
  model.config.ropeBase = static_cast<float>(base);
  return true;
}

bool Matcher::matchRopeCaches(const NodeProto *rope) {
  // com.microsoft.RotaryEmbedding's cos/sin caches [max_pos, D/2]: row p holds
  // cos/sin(p * inv_freq); inv_freq is read from row 1 and every row checked.
  const std::string &cosV = rope->input(2), &sinV = rope->input(3);
  if (!cosValue.empty()) {
    if (cosV != cosValue || sinV != sinValue)
      return fail(describe(rope) + " reads cos/sin caches '" + cosV + "' / '" + sinV +
                  "', other layers '" + cosValue + "' / '" + sinValue + "'");
    return true;
  }
  TensorView c, s;
  std::vector<float> cf, sf;
  if (!constant(cosV, c, "the RoPE cos cache") || !constant(sinV, s, "the RoPE sin cache"))
    return false;
  int64_t half = headDim / 2;
  if (!toFloats(c, cf) || !toFloats(s, sf) || c.dims.size() != 2 || c.dims != s.dims ||
      c.dims[1] != half || c.dims[0] < 2)
    return fail(describe(rope) + ": cos/sin caches are " + shapeText(c.dims) + " / " +
                shapeText(s.dims) + ", expected float [max_positions, " + std::to_string(half) +
                "]");
  int64_t rows = c.dims[0];
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    inv[i] = static_cast<float>(std::atan2(static_cast<double>(sf[half + i]), cf[half + i]));
  if (half < 2 || !(inv[half - 1] > 0))
    return fail(describe(rope) + ": the cos/sin caches are not cos/sin(p * base^(-2i/D))");
  double base = std::exp(-std::log(static_cast<double>(inv[half - 1])) *
                         static_cast<double>(headDim) / (2.0 * (half - 1)));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < half; ++i) {
      double a = static_cast<double>(r) * std::pow(base, -2.0 * i / headDim);
      // float32 caches of angles up to max_pos: allow their rounding.
      double tol = 1e-4 + 2e-7 * static_cast<double>(r);
      if (std::fabs(cf[r * half + i] - std::cos(a)) > tol ||
          std::fabs(sf[r * half + i] - std::sin(a)) > tol)
        return fail(describe(rope) + ": the cos/sin caches differ from cos/sin(p * base^(-2i/" +
                    std::to_string(headDim) + ")) at position " + std::to_string(r) +
                    ", entry " + std::to_string(i) + " (base " + std::to_string(base) + ")");
    }
  std::vector<float> exact(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    exact[i] = static_cast<float>(std::pow(base, -2.0 * i / headDim));
  if (!setRopeBase(base, exact, "the RoPE frequencies"))
    return false;
  cosValue = cosV;
  sinValue = sinV;
  return true;
}

bool Matcher::matchRoPE(const std::string &out, std::string &x) {
  if (const NodeProto *n = def(out); n && isOp(n, "RotaryEmbedding", "com.microsoft")) {
    // On [1, heads, S, D] (BNSH), NEOX halves, positions from the graph input.
    mark(n);
    if (n->input_size() < 4)
      return fail(describe(n) + " needs input, position_ids, cos_cache and sin_cache");
    int64_t dim = attrInt(n, "rotary_embedding_dim", 0);
    if (attrInt(n, "interleaved", 0) != 0 || attrInt(n, "is_packed_batching", 0) != 0 ||
        (dim != 0 && dim != headDim) || attrFloat(n, "scale", 1.0f) != 1.0f)
      return fail(describe(n) + " must rotate whole heads by halves (interleaved 0, "
                                "rotary_embedding_dim 0 or head_dim, scale 1, no packed batching)");
    if (!isPositions(n->input(1), "the RoPE positions"))
      return false;
    std::string saved = where;
    where = "RoPE tables";
    if (!matchRopeCaches(n))
      return false;
    where = saved;
    x = n->input(0);
    return true;
  }
  // Add(Mul(x, cos), Mul(rotate_half(x), sin)), any operand order.
  const NodeProto *add = expect(out, "Add", "the RoPE output", 2);
  if (!add)
    return false;
  const NodeProto *m[2];
  for (int i = 0; i < 2; ++i)
    if (!(m[i] = expect(add->input(i), "Mul", "a RoPE product", 2)))
      return false;
  // The product whose one operand comes from Concat is the rotated half.
  auto rotOperand = [&](const NodeProto *mul) {
    for (int i = 0; i < 2; ++i)
      if (const NodeProto *p = def(mul->input(i)); p && isOp(p, "Concat"))
        return i;
    return -1;
  };
  int r0 = rotOperand(m[0]), r1 = rotOperand(m[1]);
  int rotMul = r1 >= 0 && r0 < 0 ? 1 : r0 >= 0 && r1 < 0 ? 0 : -1;
  if (rotMul < 0)
    return fail(describe(add) + " does not add x*cos and rotate_half(x)*sin (RoPE)");
  const NodeProto *rm = m[rotMul], *cm = m[1 - rotMul];
  int ri = rotMul ? r1 : r0;
  std::string sinV = rm->input(1 - ri);
  const NodeProto *cat = expect(rm->input(ri), "Concat", "rotate_half(x) (RoPE)", 2);
  if (!cat)
    return false;
  if (cat->input_size() != 2 || !lastAxis(attrInt(cat, "axis", 0), 4))
    return fail(describe(cat) + " must join two halves on the last axis (rotate_half)");
  const NodeProto *neg = expect(cat->input(0), "Neg", "-x2 (rotate_half)");
  if (!neg)
    return false;
  const NodeProto *hi = expect(neg->input(0), "Slice", "x2 = x[..., D/2:] (rotate_half)", 3);
  const NodeProto *lo = hi ? expect(cat->input(1), "Slice", "x1 = x[..., :D/2] (rotate_half)", 3)
                           : nullptr;
  if (!lo)
    return false;
  auto slice = [&](const NodeProto *s, int64_t &start, int64_t &end) {
    std::vector<int64_t> st, en, ax = {-1};
    if (!constInts(s->input(1), st, "Slice starts") || !constInts(s->input(2), en, "Slice ends"))
      return false;
    if (s->input_size() >= 4 && !s->input(3).empty() && !constInts(s->input(3), ax, "Slice axes"))
      return false;
    std::vector<int64_t> steps = {1};
    if (s->input_size() >= 5 && !s->input(4).empty() &&
        !constInts(s->input(4), steps, "Slice steps"))
      return false;
    if (st.size() != 1 || en.size() != 1 || ax.size() != 1 || !lastAxis(ax[0], 4) ||
        steps != std::vector<int64_t>{1})
      return fail(describe(s) + " must slice one range of the last axis with step 1");
    start = st[0];
    end = std::min(en[0], headDim);
    return true;
  };
  int64_t s0, e0, s1, e1;
  if (!slice(hi, s0, e0) || !slice(lo, s1, e1))
    return false;
  if (s0 != headDim / 2 || e0 != headDim || s1 != 0 || e1 != headDim / 2)
    return fail(describe(hi) + " / " + describe(lo) + " slice [" + std::to_string(s0) + ", " +
                std::to_string(e0) + ") and [" + std::to_string(s1) + ", " +
                std::to_string(e1) + "): rotate_half needs the halves of head_dim " +
                std::to_string(headDim));
  x = lo->input(0);
  if (hi->input(0) != x)
    return fail(describe(hi) + " and " + describe(lo) + " slice different tensors");
  int xi = cm->input(0) == x ? 0 : cm->input(1) == x ? 1 : -1;
  if (xi < 0)
    return fail(describe(cm) + " should multiply the rotated tensor " + describeValue(x) +
                " by cos");
  return matchRopeTables(cm->input(1 - xi), sinV);
}

bool Matcher::matchMask(const std::string &mask) {
  if (!maskValue.empty()) {
    if (mask != maskValue)
      return fail("the attention mask " + describeValue(mask) +
                  " is not the causal mask other layers use");
    return true;
  }
  std::string saved = where;
  where = "causal mask";
  const NodeProto *un = expectUnsqueeze(mask, {1}, "the attention mask");
  if (!un)
    return false;
  const NodeProto *wh = expect(un->input(0), "Where", "the attention mask", 3);
  if (!wh)
    return false;
  double masked, open;
  if (!constFloat(wh->input(1), masked, "the masked score") ||
      !constFloat(wh->input(2), open, "the unmasked score"))
    return false;
  if (!(masked <= -1e4) || open != 0)
    return fail(describe(wh) + " must pick a large negative score (-inf) for masked and 0 for "
                               "visible positions");
  const NodeProto *cmp = def(wh->input(0));
  if (!cmp || !(isOp(cmp, "Greater") || isOp(cmp, "Less")) || cmp->input_size() != 2)
    return fail("the attention mask's condition should be Greater(pos_k, pos_q) or "
                "Less(pos_q, pos_k), but it is " + describeValue(wh->input(0)));
  mark(cmp);
  // Greater(a, b): a must be the key positions [1, 1, S] and b the query positions [1, S, 1].
  bool greater = isOp(cmp, "Greater");
  std::string keyV = cmp->input(greater ? 0 : 1), queryV = cmp->input(greater ? 1 : 0);
  const NodeProto *uk = expectUnsqueeze(keyV, {1}, "the key positions (mask)");
  const NodeProto *uq = uk ? expectUnsqueeze(queryV, {2}, "the query positions (mask)") : nullptr;
  if (!uq)
    return false;
  if (!isPositions(uk->input(0), "the mask's key positions") ||
      !isPositions(uq->input(0), "the mask's query positions"))
    return false;
  maskValue = mask;
  where = saved;
  return true;
}

bool Matcher::matchHeads(const std::string &v, int64_t &heads, std::string &linearOut) {
  // Transpose(Reshape(y, [0|1, 0|-1, heads, D]), perm [0, 2, 1, 3]).
  const NodeProto *tr = expect(v, "Transpose", "[1, S, heads, D] -> [1, heads, S, D]");
  if (!tr)
    return false;
  if (attrInts(tr, "perm") != std::vector<int64_t>{0, 2, 1, 3})
    return fail(describe(tr) + " must have perm [0, 2, 1, 3], got " +
                shapeText(attrInts(tr, "perm")));
  const NodeProto *rs = expect(tr->input(0), "Reshape", "the split into heads", 2);
  if (!rs)
    return false;
  std::vector<int64_t> shape;
  if (!constInts(rs->input(1), shape, "the head split shape"))
    return false;
  if (shape.size() != 4 || (shape[0] != 0 && shape[0] != 1) ||
      (shape[1] != 0 && shape[1] != -1) || shape[2] <= 0 || shape[3] <= 0)
    return fail(describe(rs) + " reshapes to " + shapeText(shape) +
                ", expected [0, 0, heads, head_dim]");
  if (headDim && shape[3] != headDim)
    return fail(describe(rs) + " splits heads of " + std::to_string(shape[3]) +
                ", but head_dim is " + std::to_string(headDim));
  headDim = shape[3];
  heads = shape[2];
  linearOut = rs->input(0);
  return true;
}

bool Matcher::matchRepeatKV(const std::string &v, std::string &x) {
  // Reshape(Expand(Unsqueeze(x, 2), [1, 1, G, 1, 1]), [0|1, H, -1|0, D]).
  const NodeProto *rs = def(v);
  if (rs && !isOp(rs, "Reshape") && nHead == nHeadKv) {
    x = v; // no GQA: nothing to repeat
    return true;
  }
  rs = expect(v, "Reshape", "the repeated kv heads (GQA repeat-kv)", 2);
  if (!rs)
    return false;
  std::vector<int64_t> shape, eshape;
  if (!constInts(rs->input(1), shape, "the repeat-kv shape"))
    return false;
  const NodeProto *ex = expect(rs->input(0), "Expand", "the repeated kv heads (GQA)", 2);
  if (!ex || !constInts(ex->input(1), eshape, "the repeat-kv Expand shape"))
    return false;
  const NodeProto *un = expectUnsqueeze(ex->input(0), {2}, "the kv heads before Expand");
  if (!un)
    return false;
  int64_t group = nHead / std::max<int64_t>(nHeadKv, 1);
  if (eshape.size() != 5 || eshape[0] != 1 || eshape[1] != 1 || eshape[2] != group ||
      eshape[3] != 1 || eshape[4] != 1)
    return fail(describe(ex) + " expands by " + shapeText(eshape) + ", expected [1, 1, " +
                std::to_string(group) + ", 1, 1] (heads " + std::to_string(nHead) +
                " / kv heads " + std::to_string(nHeadKv) + ")");
  if (shape.size() != 4 || (shape[0] != 0 && shape[0] != 1) || shape[1] != nHead ||
      (shape[2] != -1 && shape[2] != 0) || shape[3] != headDim)
    return fail(describe(rs) + " reshapes to " + shapeText(shape) + ", expected [0, " +
                std::to_string(nHead) + ", -1, " + std::to_string(headDim) + "]");
  x = un->input(0);
  return true;
}

bool Matcher::matchGQA(const std::string &p, const NodeProto *gqa, int64_t qDim,
                       std::string &h) {
  // com.microsoft.GroupQueryAttention(query [1, S, H*D], key, value [1, S, KV*D], past_key,
  // past_value, seqlens_k, total_sequence_length): causal GQA; the past/present kv are the
  // exporter's cache, which the compiled library keeps itself.
  mark(gqa);
  const int64_t E = model.config.nEmbd;
  int64_t H = attrInt(gqa, "num_heads", 0), KV = attrInt(gqa, "kv_num_heads", 0);
  if (H <= 0 || KV <= 0 || H % KV || qDim % H)
    return fail(describe(gqa) + " has num_heads " + std::to_string(H) + ", kv_num_heads " +
                std::to_string(KV) + " for " + std::to_string(qDim) + " query features");
  if ((nHead && H != nHead) || (nHeadKv && KV != nHeadKv) || (headDim && headDim != qDim / H))
    return fail(describe(gqa) + " has heads " + std::to_string(H) + "/" + std::to_string(KV) +
                " of " + std::to_string(qDim / H) + ", other layers " + std::to_string(nHead) +
                "/" + std::to_string(nHeadKv) + " of " + std::to_string(headDim));
  nHead = H;
  nHeadKv = KV;
  headDim = qDim / H;
  float scale = attrFloat(gqa, "scale", 0.0f);
  if (attrInt(gqa, "do_rotary", 0) != 0 || attrInt(gqa, "local_window_size", -1) != -1 ||
      attrFloat(gqa, "softcap", 0.0f) != 0.0f || attrInt(gqa, "smooth_softmax", 0) != 0 ||
      (scale != 0.0f &&
       std::fabs(scale * std::sqrt(static_cast<double>(headDim)) - 1.0) > 1e-4))
    return fail(describe(gqa) + " must be plain causal attention: do_rotary 0 (HY normalizes q "
                                "and k after RoPE, outside the op), no local window, softcap or "
                                "smooth softmax, scale 1/sqrt(head_dim)");
  if (gqa->input_size() < 7)
    return fail(describe(gqa) + " has " + std::to_string(gqa->input_size()) +
                " inputs, expected query, key, value, past_key, past_value, seqlens_k, "
                "total_sequence_length");
  for (int i = 7; i < gqa->input_size(); ++i)
    if (!gqa->input(i).empty())
      return fail(describe(gqa) + " uses input " + std::to_string(i) +
                  " (cos/sin cache, position ids, attention bias or head sink), which hyc does "
                  "not support");
  for (int i = 3; i < 7; ++i) {
    const std::string &v = gqa->input(i);
    if (v.empty() && i < 5)
      continue;
    if (!graphInputs.count(v))
      return fail(describe(gqa) + " input " + std::to_string(i) + " should be a graph input "
                  "(the exporter's kv cache state), but it is " + describeValue(v));
    cacheInputs.insert(v);
  }
  for (int i = 1; i < gqa->output_size(); ++i)
    if (!gqa->output(i).empty())
      cacheOutputs.insert(gqa->output(i));
  // query/key: Reshape(Transpose(norm(rope(heads(linear))), [0, 2, 1, 3]), [0, 0, n*D]).
  auto qk = [&](const std::string &v, int64_t n, const std::string &proj,
                const std::string &norm, std::string &in) {
    const NodeProto *rs = expect(v, "Reshape", "the " + proj + " heads merged for "
                                 "GroupQueryAttention", 2);
    if (!rs)
      return false;
    std::vector<int64_t> shape;
    if (!constInts(rs->input(1), shape, "the head merge shape"))
      return false;
    if (shape.size() != 3 || (shape[0] != 0 && shape[0] != 1) ||
        (shape[1] != 0 && shape[1] != -1) || (shape[2] != n * headDim && shape[2] != -1))
      return fail(describe(rs) + " reshapes to " + shapeText(shape) + ", expected [0, 0, " +
                  std::to_string(n * headDim) + "]");
    const NodeProto *tr = expect(rs->input(0), "Transpose", "[1, heads, S, D] -> [1, S, heads, D]");
    if (!tr)
      return false;
    if (attrInts(tr, "perm") != std::vector<int64_t>{0, 2, 1, 3})
      return fail(describe(tr) + " must have perm [0, 2, 1, 3]");
    std::string r, heads, lin;
    int64_t got = 0;
    if (!matchRMSNorm(tr->input(0), headDim, p + norm + ".weight", r) || !matchRoPE(r, heads) ||
        !matchHeads(heads, got, lin))
      return false;
    if (got != n)
      return fail("the " + proj + " projection is split into " + std::to_string(got) +
                  " heads, " + describe(gqa) + " expects " + std::to_string(n));
    return matchLinear(lin, E, n * headDim, p + proj + ".weight", in);
  };
  std::string hk, hv;
  if (!qk(gqa->input(0), H, "attn_q", "attn_q_norm", h) ||
      !qk(gqa->input(1), KV, "attn_k", "attn_k_norm", hk) ||
      !matchLinear(gqa->input(2), E, KV * headDim, p + "attn_v.weight", hv))
    return false;
  if (hk != h || hv != h)
    return fail("q, k and v read different inputs (" + describeValue(h) + ", " +
                describeValue(hk) + ", " + describeValue(hv) + ")");
  return true;
}

bool Matcher::matchLayer(int64_t l, const std::string &out, std::string &in) {
  const std::string p = "blk." + std::to_string(l) + ".", L = "layer " + std::to_string(l);
  const int64_t E = model.config.nEmbd;
  auto isLinear = [&](const std::string &v) {
    const NodeProto *n = def(v);
    return n && (isOp(n, "MatMul") || isOp(n, "MatMulNBits", "com.microsoft"));
  };
  auto residual = [&](const std::string &v, const std::string &what, std::string &skip,
                      std::string &branch) {
    const NodeProto *add = expect(v, "Add", "the " + what + " residual", 2);
    if (!add)
      return false;
    int bi = isLinear(add->input(1)) ? 1 : isLinear(add->input(0)) ? 0 : -1;
    if (bi < 0)
      return fail(describe(add) + " should add a projection to the residual stream, but adds " +
                  describeValue(add->input(0)) + " and " + describeValue(add->input(1)));
    branch = add->input(bi);
    skip = add->input(1 - bi);
    return true;
  };

  // FFN: x2 = x1 + down(silu(gate(h)) * up(h)), h = rmsnorm(x1).
  where = L + " FFN";
  std::string x1, down, gu, h2, h2b, x1b;
  if (!residual(out, "FFN", x1, down) || !matchLinear(down, 0, E, p + "ffn_down.weight", gu))
    return false;
  const NodeProto *mul = expect(gu, "Mul", "silu(gate) * up (SwiGLU)", 2);
  if (!mul)
    return false;
  int si = -1;
  std::string gate;
  for (int i = 0; i < 2 && si < 0; ++i) {
    const NodeProto *m = def(mul->input(i));
    if (!m || !isOp(m, "Mul") || m->input_size() != 2)
      continue;
    for (int j = 0; j < 2; ++j)
      if (const NodeProto *sg = def(m->input(j));
          sg && isOp(sg, "Sigmoid") && sg->input(0) == m->input(1 - j)) {
        si = i;
        gate = m->input(1 - j);
        mark(m);
        mark(sg);
      }
  }
  if (si < 0)
    return fail(describe(mul) + " should multiply silu(gate) = gate * Sigmoid(gate) by up, but "
                                "its operands are " + describeValue(mul->input(0)) + " and " +
                describeValue(mul->input(1)));
  if (!matchLinear(gate, E, 0, p + "ffn_gate.weight", h2))
    return false;
  model.config.nFF = pending[p + "ffn_gate.weight"].rows;
  if (pending[p + "ffn_down.weight"].cols != model.config.nFF)
    return fail("ffn_down takes " + std::to_string(pending[p + "ffn_down.weight"].cols) +
                " features but ffn_gate gives " + std::to_string(model.config.nFF));
  if (!matchLinear(mul->input(1 - si), E, model.config.nFF, p + "ffn_up.weight", h2b))
    return false;
  if (h2 != h2b)
    return fail("ffn_gate reads " + describeValue(h2) + " but ffn_up reads " +
                describeValue(h2b) + " (SwiGLU needs one input)");
  if (!matchRMSNorm(h2, E, p + "ffn_norm.weight", x1b))
    return false;
  if (x1b != x1)
    return fail("the FFN norm reads " + describeValue(x1b) +
                " but the residual adds " + describeValue(x1) + " (pre-norm block)");

  // Attention: x1 = x + o(attn(q, k, v)), q/k/v = linear(rmsnorm(x)).
  where = L + " attention";
  std::string x, o, o2;
  if (!residual(x1, "attention", x, o) || !matchLinear(o, 0, E, p + "attn_output.weight", o2))
    return false;
  const int64_t qDim = pending[p + "attn_output.weight"].cols;
  if (const NodeProto *gqa = def(o2); gqa && isOp(gqa, "GroupQueryAttention", "com.microsoft")) {
    std::string h;
    if (!matchGQA(p, gqa, qDim, h) || !matchRMSNorm(h, E, p + "attn_norm.weight", in))
      return false;
    if (in != x)
      return fail("the attention norm reads " + describeValue(in) + " but the residual adds " +
                  describeValue(x) + " (pre-norm block)");
    return true;
  }
  const NodeProto *rs = expect(o2, "Reshape", "the merge of the heads", 2);
  if (!rs)
    return false;
  std::vector<int64_t> shape;
  if (!constInts(rs->input(1), shape, "the head merge shape"))
    return false;
  if (shape.size() != 3 || (shape[0] != 0 && shape[0] != 1) ||
      (shape[1] != 0 && shape[1] != -1) || (shape[2] != qDim && shape[2] != -1))
    return fail(describe(rs) + " reshapes to " + shapeText(shape) + ", expected [0, 0, " +
                std::to_string(qDim) + "]");
  const NodeProto *tr = expect(rs->input(0), "Transpose", "[1, H, S, D] -> [1, S, H, D]");
  if (!tr)
    return false;
  if (attrInts(tr, "perm") != std::vector<int64_t>{0, 2, 1, 3})
    return fail(describe(tr) + " must have perm [0, 2, 1, 3]");
  const NodeProto *pv = expect(tr->input(0), "MatMul", "probs @ v", 2);
  if (!pv)
    return false;
  const NodeProto *sm = expect(pv->input(0), "Softmax", "the attention probabilities");
  if (!sm)
    return false;
  if (!lastAxis(attrInt(sm, "axis", -1), 4))
    return fail(describe(sm) + " must normalize the last axis (keys)");
  const NodeProto *madd = def(sm->input(0));
  if (!madd || !isOp(madd, "Add"))
    return fail("the Softmax input should be scores + causal mask (Add), but it is " +
                describeValue(sm->input(0)) + ": attention without a causal mask is not "
                                              "supported");
  mark(madd);
  const NodeProto *a0 = def(madd->input(0));
  int mi = a0 && (isOp(a0, "Mul") || isOp(a0, "Div")) ? 1 : 0;
  if (!matchMask(madd->input(mi)))
    return false;
  where = L + " attention";
  const NodeProto *sc = def(madd->input(1 - mi));
  if (!sc || !(isOp(sc, "Mul") || isOp(sc, "Div")) || sc->input_size() != 2)
    return fail("the masked scores should be QK^T scaled by Mul or Div, but they are " +
                describeValue(madd->input(1 - mi)));
  mark(sc);
  const NodeProto *s0 = def(sc->input(0));
  int qk = s0 && isOp(s0, "MatMul") ? 0 : 1;
  if (isOp(sc, "Div"))
    qk = 0;
  double factor;
  if (!constFloat(sc->input(1 - qk), factor, "the attention scale"))
    return false;
  double scale = isOp(sc, "Div") ? 1.0 / factor : factor;
  const NodeProto *qkm = expect(sc->input(qk), "MatMul", "q @ k^T", 2);
  if (!qkm)
    return false;
  const NodeProto *kt = expect(qkm->input(1), "Transpose", "k^T");
  if (!kt)
    return false;
  if (attrInts(kt, "perm") != std::vector<int64_t>{0, 1, 3, 2})
    return fail(describe(kt) + " must have perm [0, 1, 3, 2]");

  // q: Transpose(Reshape(linear)) -> RoPE -> per-head RMSNorm.
  std::string qr, q, qLin, h, kr, k, kLin, hk, vLin, hv, vt;
  int64_t H = 0, KV = 0;
  // head_dim, before the per-head norms need it: from v's head split (v has
  // no norm or RoPE in between), found by a walk that marks nothing.
  if (headDim == 0) {
    std::string v = pv->input(1);
    for (int hop = 0; hop < 8 && headDim == 0; ++hop) {
      const NodeProto *n = def(v);
      if (!n || n->input_size() < 1)
        break;
      const NodeProto *below = def(n->input(0));
      if (isOp(n, "Reshape") && n->input_size() >= 2 && below &&
          (isOp(below, "MatMul") || isOp(below, "MatMulNBits", "com.microsoft"))) {
        auto it = initializers.find(n->input(1));
        const NodeProto *cn = def(n->input(1));
        const TensorProto *t = it != initializers.end() ? it->second
                               : cn && isOp(cn, "Constant") && attr(cn, "value")
                                   ? &attr(cn, "value")->t()
                                   : nullptr;
        TensorView tv;
        std::string ignored;
        if (t && t->data_type() == TensorProto::INT64 && file.tensor(*t, tv, ignored) &&
            tv.numElements == 4)
          std::memcpy(&headDim, tv.data + 24, 8);
        break;
      }
      v = n->input(0);
    }
    if (headDim <= 0 || headDim % 2 || headDim > 65536)
      return fail("cannot find head_dim: v (" + describeValue(pv->input(1)) +
                  ") is not Reshape(projection, [0, 0, kv_heads, head_dim]) below repeat-kv");
  }
  if (!matchRMSNorm(qkm->input(0), headDim, p + "attn_q_norm.weight", qr) ||
      !matchRoPE(qr, q) || !matchHeads(q, H, qLin))
    return false;
  where = L + " attention";
  if (nHead && H != nHead)
    return fail("q has " + std::to_string(H) + " heads, other layers " + std::to_string(nHead));
  nHead = H;
  if (std::fabs(scale * std::sqrt(static_cast<double>(headDim)) - 1.0) > 1e-4)
    return fail(describe(sc) + " scales the scores by " + std::to_string(scale) +
                ", expected 1/sqrt(head_dim) = " +
                std::to_string(1.0 / std::sqrt(static_cast<double>(headDim))));
  if (!matchLinear(qLin, E, H * headDim, p + "attn_q.weight", h))
    return false;
  if (qDim != H * headDim)
    return fail("attn_output takes " + std::to_string(qDim) + " features but q has " +
                std::to_string(H * headDim));

  // k: repeat-kv(norm(rope(heads(linear)))).
  std::string kn;
  {
    // kv head count from the k split, needed by the repeat-kv check.
    const NodeProto *rsK = def(kt->input(0));
    if (rsK && isOp(rsK, "Reshape")) {
      const NodeProto *ex = def(rsK->input(0));
      if (ex && isOp(ex, "Expand")) {
        std::vector<int64_t> es;
        if (constInts(ex->input(1), es, "the repeat-kv Expand shape") && es.size() == 5 &&
            es[2] > 0)
          nHeadKv = nHead / es[2];
      }
    } else {
      nHeadKv = nHead;
    }
    if (nHeadKv <= 0)
      nHeadKv = nHead;
  }
  if (!matchRepeatKV(kt->input(0), kn) ||
      !matchRMSNorm(kn, headDim, p + "attn_k_norm.weight", kr) || !matchRoPE(kr, k) ||
      !matchHeads(k, KV, kLin))
    return false;
  where = L + " attention";
  if (KV != nHeadKv)
    return fail("k has " + std::to_string(KV) + " heads but repeat-kv expects " +
                std::to_string(nHeadKv));
  if (!matchLinear(kLin, E, KV * headDim, p + "attn_k.weight", hk))
    return false;
  int64_t vHeads = 0;
  if (!matchRepeatKV(pv->input(1), vt) || !matchHeads(vt, vHeads, vLin))
    return false;
  if (vHeads != KV)
    return fail("v has " + std::to_string(vHeads) + " heads, k has " + std::to_string(KV));
  if (!matchLinear(vLin, E, KV * headDim, p + "attn_v.weight", hv))
    return false;
  if (hk != h || hv != h)
    return fail("q, k and v read different inputs (" + describeValue(h) + ", " +
                describeValue(hk) + ", " + describeValue(hv) + ")");
  if (!matchRMSNorm(h, E, p + "attn_norm.weight", in))
    return false;
  if (in != x)
    return fail("the attention norm reads " + describeValue(in) + " but the residual adds " +
                describeValue(x) + " (pre-norm block)");
  return true;
}

bool Matcher::matchEmbedding(const std::string &table) {
  where = "embedding";
  const NodeProto *n = def(table);
  TensorView t;
  if (n && isOp(n, "DequantizeLinear")) {
    // Q8_0: int8 codes [V, E], scales [V, E/32] (fp16 values), axis 1, block 32.
    mark(n);
    TensorView Q, S;
    if (!constant(n->input(0), Q, "the embedding codes") ||
        !constant(n->input(1), S, "the embedding scales"))
      return false;
    std::vector<float> sc;
    bool zp = n->input_size() >= 3 && !n->input(2).empty();
    int64_t axis = attrInt(n, "axis", 1), bs = attrInt(n, "block_size", 0);
    if (Q.dataType != TensorProto::INT8 || Q.dims.size() != 2 || zp ||
        (axis != 1 && axis != -1) || bs != 32 || !toFloats(S, sc) ||
        S.dims != std::vector<int64_t>{Q.dims[0], Q.dims[1] / 32} || Q.dims[1] % 32)
      return fail(describe(n) + ": a quantized embedding must be INT8 codes [V, E] with "
                                "scales [V, E/32], axis 1, block_size 32 and no zero point (Q8_0)");
    int64_t V = Q.dims[0], E = Q.dims[1], nb = E / 32;
    auto buf = std::make_unique<std::vector<uint8_t>>(static_cast<size_t>(V * nb * 34));
    for (int64_t r = 0; r < V; ++r)
      for (int64_t b = 0; b < nb; ++b) {
        float s = sc[r * nb + b];
        uint16_t h = floatToFp16(s);
        if (fp16ToFloat(h) != s)
          return fail("embedding scale [" + std::to_string(r) + ", " + std::to_string(b) +
                      "] = " + std::to_string(s) + " is not an fp16 value (Q8_0 stores fp16)");
        uint8_t *dst = buf->data() + (r * nb + b) * 34;
        dst[0] = static_cast<uint8_t>(h & 0xFF);
        dst[1] = static_cast<uint8_t>(h >> 8);
        std::memcpy(dst + 2, Q.data + r * E + b * 32, 32);
      }
    model.config.nVocab = V;
    model.config.nEmbd = E;
    const uint8_t *src = buf->data();
    int64_t bytes = static_cast<int64_t>(buf->size());
    model.ownedData.push_back(std::move(buf));
    return addWeight("token_embd.weight", WeightFormat::Q8_0, V, E, src, bytes);
  }
  std::string init = table;
  int32_t want = TensorProto::FLOAT;
  if (n && isOp(n, "Cast")) {
    mark(n);
    if (attrInt(n, "to", 0) != TensorProto::FLOAT)
      return fail(describe(n) + " must cast the embedding to FLOAT");
    init = n->input(0);
    want = TensorProto::FLOAT16;
  }
  if (!constant(init, t, "the embedding table"))
    return false;
  if (t.dataType != want || t.dims.size() != 2)
    return fail("the embedding table '" + init + "' is " + onnxfile::dataTypeName(t.dataType) +
                " " + shapeText(t.dims) + ", expected a 2-D " + onnxfile::dataTypeName(want) +
                " [vocab, hidden] (FLOAT16 behind a Cast, FLOAT, or Q8_0 via DequantizeLinear)");
  model.config.nVocab = t.dims[0];
  model.config.nEmbd = t.dims[1];
  return addWeight("token_embd.weight",
                   want == TensorProto::FLOAT ? WeightFormat::F32 : WeightFormat::F16, t.dims[0],
                   t.dims[1], t.data, t.bytes);
}

bool Matcher::run(std::string &errorOut) {
  const onnx::GraphProto &g = file.model().graph();
  auto done = [&](bool ok) {
    if (!ok)
      errorOut = error.empty() ? file.path() + ": import failed" : error;
    return ok;
  };
  int64_t opset = file.opsetVersion("");
  if (opset < kMinOpset)
    return done(fail(opset < 0 ? "the model imports no ai.onnx opset"
                               : "ai.onnx opset " + std::to_string(opset) +
                                     " is too old (hyc reads opset " +
                                     std::to_string(kMinOpset) + " or newer)"));
  for (const TensorProto &t : g.initializer())
    initializers[t.name()] = &t;
  for (const onnx::ValueInfoProto &v : g.input())
    if (!initializers.count(v.name()))
      graphInputs[v.name()] = v.type().tensor_type().elem_type();
  for (int i = 0; i < g.node_size(); ++i) {
    const NodeProto *n = &g.node(i);
    nodeIndex[n] = i;
    if (!n->domain().empty() && n->domain() != "ai.onnx" && n->domain() != "com.microsoft")
      return done(fail(describe(n) + " is in operator domain '" + n->domain() +
                       "', which hyc does not know"));
    if (n->domain() == "com.microsoft" && file.opsetVersion("com.microsoft") < 1)
      return done(fail(describe(n) + " uses domain com.microsoft, which the model does not "
                                     "import"));
    for (const std::string &o : n->output()) {
      if (o.empty())
        continue;
      if (producer.count(o) || initializers.count(o) || graphInputs.count(o))
        return done(fail("value '" + o + "' is defined twice (" + describe(n) + ")"));
      producer[o] = n;
    }
  }
  if (g.output_size() < 1)
    return done(fail("the graph has no output; hyc expects the logits [1, S, vocab]"));

  // lm_head (tied): MatMul(rmsnorm(x), Transpose(embedding)).
  where = "lm_head";
  std::string logits = g.output(0).name();
  while (const NodeProto *n = def(logits)) {
    if (!isOp(n, "Identity"))
      break;
    mark(n);
    logits = n->input(0);
  }
  const NodeProto *lm = expect(logits, "MatMul", "the logits", 2);
  if (!lm)
    return done(false);
  const NodeProto *tr = def(lm->input(1));
  if (!tr || !isOp(tr, "Transpose") || attrInts(tr, "perm") != std::vector<int64_t>{1, 0})
    return done(fail("the lm_head weight should be the embedding table transposed (tied "
                     "embeddings), but it is " + describeValue(lm->input(1))));
  mark(tr);
  embedTable = tr->input(0);
  if (!matchEmbedding(embedTable))
    return done(false);
  where = "final norm";
  std::string x;
  if (!matchRMSNorm(lm->input(0), model.config.nEmbd, "output_norm.weight", x))
    return done(false);

  // Layers, last to first, down to Gather(embedding, input_ids). The count
  // first (two residual Adds per layer), so messages name the right layer.
  int64_t nLayers = 0;
  for (std::string v = x;;) {
    const NodeProto *n = def(v);
    if (!n || !isOp(n, "Add") || n->input_size() != 2 || nLayers > 2 * 4096)
      break;
    const NodeProto *b = def(n->input(1));
    bool branch1 = b && (isOp(b, "MatMul") || isOp(b, "MatMulNBits", "com.microsoft"));
    v = n->input(branch1 ? 0 : 1);
    ++nLayers;
  }
  nLayers = (nLayers + 1) / 2;
  if (nLayers == 0)
    return done(fail("the final norm reads " + describeValue(x) +
                     ", not the residual stream of a decoder layer"));
  for (int64_t l = nLayers - 1; l >= 0; --l) {
    std::string in;
    if (!matchLayer(l, x, in))
      return done(false);
    x = in;
  }
  where = "embedding";
  const NodeProto *gather = expect(x, "Gather", "the token embedding", 2);
  if (!gather)
    return done(false);
  if (gather->input(0) != embedTable || attrInt(gather, "axis", 0) != 0)
    return done(fail(describe(gather) + " must gather rows (axis 0) of the embedding table "
                                        "the lm_head uses (tied embeddings)"));
  tokensInput = gather->input(1);
  auto ti = graphInputs.find(tokensInput);
  if (ti == graphInputs.end() ||
      (ti->second != TensorProto::INT64 && ti->second != TensorProto::INT32))
    return done(fail(describe(gather) + " must gather with an INT64/INT32 graph input (the "
                                        "token ids), not " + describeValue(tokensInput)));
  where.clear();

  HyConfig &c = model.config;
  c.arch = "hunyuan-dense";
  c.nLayer = nLayers;
  c.nHead = nHead;
  c.nHeadKv = nHeadKv;
  c.headDim = headDim;
  c.trainContext = 4096;
  for (const onnx::StringStringEntryProto &kv : file.model().metadata_props()) {
    auto num = [&](int64_t &dst) {
      const std::string &v = kv.value();
      if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos)
        return fail("metadata '" + kv.key() + "' = '" + v + "' is not a non-negative integer");
      dst = std::stoll(v);
      return true;
    };
    if ((kv.key() == "hyc.context_length" && !num(c.trainContext)) ||
        (kv.key() == "hyc.bos_token_id" && !num(c.bosId)) ||
        (kv.key() == "hyc.eos_token_id" && !num(c.eosId)))
      return done(false);
  }
  if (c.trainContext <= 0 || c.bosId >= c.nVocab || c.eosId >= c.nVocab)
    return done(fail("metadata context_length / bos / eos ids are out of range"));

  // Every node must belong to a pattern; every graph input must be used.
  for (int i = 0; i < g.node_size(); ++i) {
    const NodeProto *n = &g.node(i);
    if (matchedWhere.count(n))
      continue;
    std::string near;
    for (const std::string &in : n->input())
      if (const NodeProto *p = def(in); p && matchedWhere.count(p)) {
        near = ", reading " + describeValue(in) + " in " +
               (matchedWhere[p].empty() ? std::string("the graph") : matchedWhere[p]);
        break;
      }
    if (near.empty())
      for (const NodeProto &other : g.node())
        for (const std::string &in : other.input())
          if (near.empty() && std::find(n->output().begin(), n->output().end(), in) !=
                                  n->output().end() && matchedWhere.count(&other))
            near = ", feeding " + describe(&other) + " in " + matchedWhere[&other];
    return done(fail(describe(n) + " is not part of any pattern hyc recognizes" +
                     (near.empty() ? " (it sits outside the decoder's data flow)" : near)));
  }
  for (int i = 1; i < g.output_size(); ++i)
    if (!cacheOutputs.count(g.output(i).name()))
      return done(fail("graph output '" + g.output(i).name() + "' is neither the logits (the "
                       "first output) nor a GroupQueryAttention present key/value; the graph "
                       "has " + std::to_string(g.output_size()) + " outputs"));
  for (const auto &[name, type] : graphInputs)
    if (name != tokensInput && name != positionsInput && !cacheInputs.count(name))
      return done(fail("graph input '" + name + "' is not used by the decoder hyc compiles "
                                                "(inputs: token ids and position ids)"));
  if (positionsInput.empty())
    return done(fail("no RoPE / causal mask found reading the position ids"));

  // Blob layout in importGGUF's order.
  std::vector<std::string> order = {"token_embd.weight", "output_norm.weight"};
  for (int64_t l = 0; l < nLayers; ++l)
    for (const char *s : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_q_norm",
                          "attn_k_norm", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                          "ffn_down"})
      order.push_back("blk." + std::to_string(l) + "." + s + ".weight");
  int64_t offset = 0;
  for (const std::string &name : order) {
    auto it = pending.find(name);
    if (it == pending.end())
      return done(fail("internal: weight '" + name + "' was not matched"));
    WeightEntry e = it->second;
    e.blobOffset = offset;
    offset = (offset + e.bytes + 63) / 64 * 64;
    model.weights.push_back(e);
  }
  model.blobBytes = offset;
  if (lossyTensors) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%lld of %lld linear weights quantized to Q2_0C by scale search: relative RMS "
                  "error %.4f over all linear weights, max |error| %.3g",
                  static_cast<long long>(lossyTensors),
                  static_cast<long long>(lossyTensors + exactTensors),
                  totals.refSq > 0 ? std::sqrt(totals.errSq / totals.refSq) : 0.0,
                  totals.maxAbsErr);
    model.notes.push_back(buf);
  }
  return done(true);
}
} // namespace

std::unique_ptr<ImportedModel> hyc::importONNX(const std::string &path, std::string &error) {
  std::shared_ptr<ONNXFile> file = ONNXFile::open(path, error);
  if (!file)
    return nullptr;
  auto model = std::make_unique<ImportedModel>();
  model->sourceKeepAlive = file;
  Matcher m(*file, *model);
  if (!m.run(error))
    return nullptr;
  return model;
}
