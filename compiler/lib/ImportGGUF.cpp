//===- ImportGGUF.cpp - read and check a hunyuan-dense GGUF --------------===//
#include "hyc/ModelImport.h"

#include "gguf/GGUFFile.h"

#include <cmath>

using namespace hyc;
using hyc::lowbit::WeightFormat;

const WeightEntry *ImportedModel::find(const std::string &name) const {
  for (const WeightEntry &w : weights)
    if (w.name == name)
      return &w;
  return nullptr;
}

namespace {
struct Reader {
  const gguf::GGUFFile &file;
  std::string &error;

  bool i64(const std::string &key, int64_t &out) {
    uint64_t v;
    if (!file.getU64(key, v, error))
      return false;
    if (v == 0 || v > (1ull << 40)) {
      error = file.path() + ": metadata '" + key + "' = " + std::to_string(v) +
              " is out of range";
      return false;
    }
    out = static_cast<int64_t>(v);
    return true;
  }
};

std::optional<WeightFormat> formatOf(QuantType t) {
  switch (t) {
  case QuantType::F32:
    return WeightFormat::F32;
  case QuantType::F16:
    return WeightFormat::F16;
  case QuantType::Q2_0C:
    return WeightFormat::Q2_0C;
  case QuantType::Q8_0:
    return WeightFormat::Q8_0;
  case QuantType::Q2_K:
    return WeightFormat::Q2_K;
  case QuantType::TQ2_0:
    return WeightFormat::TQ2_0;
  default:
    return std::nullopt;
  }
}
} // namespace

std::unique_ptr<ImportedModel> hyc::importGGUF(const std::string &path,
                                               std::string &error) {
  auto model = std::make_unique<ImportedModel>();
  std::unique_ptr<gguf::GGUFFile> file = gguf::GGUFFile::open(path, error);
  if (!file)
    return nullptr;
  model->file = std::move(file);
  const gguf::GGUFFile &f = *model->file;
  HyConfig &c = model->config;
  Reader r{f, error};

  if (!f.getString("general.architecture", c.arch, error))
    return nullptr;
  if (c.arch != "hunyuan-dense") {
    error = path + ": architecture '" + c.arch +
            "' is not supported (expected hunyuan-dense)";
    return nullptr;
  }
  const std::string a = c.arch + ".";
  if (!r.i64(a + "block_count", c.nLayer) ||
      !r.i64(a + "embedding_length", c.nEmbd) ||
      !r.i64(a + "feed_forward_length", c.nFF) ||
      !r.i64(a + "attention.head_count", c.nHead) ||
      !r.i64(a + "attention.head_count_kv", c.nHeadKv) ||
      !r.i64(a + "context_length", c.trainContext) ||
      !f.getF32(a + "attention.layer_norm_rms_epsilon", c.rmsEps, error))
    return nullptr;
  float base;
  if (!f.getF32(a + "rope.freq_base", base, error))
    return nullptr;
  c.ropeBase = base;
  c.headDim = c.nEmbd / c.nHead;
  if (f.find(a + "attention.key_length") && !r.i64(a + "attention.key_length", c.headDim))
    return nullptr;
  if (c.nHead % c.nHeadKv != 0) {
    error = path + ": head_count " + std::to_string(c.nHead) +
            " is not a multiple of head_count_kv " + std::to_string(c.nHeadKv);
    return nullptr;
  }
  if (c.headDim % 2 != 0 || !(c.rmsEps > 0) || !(c.ropeBase > 1)) {
    error = path + ": bad key_length, rms epsilon or rope.freq_base";
    return nullptr;
  }
  uint32_t id;
  std::string ignored;
  if (f.getU32("tokenizer.ggml.bos_token_id", id, ignored))
    c.bosId = id;
  if (f.getU32("tokenizer.ggml.eos_token_id", id, ignored))
    c.eosId = id;

  const gguf::TensorInfo *embd = f.findTensor("token_embd.weight");
  if (!embd || embd->dims.size() != 2) {
    error = path + (embd ? ": tensor 'token_embd.weight' must be 2-D"
                         : ": missing tensor 'token_embd.weight'");
    return nullptr;
  }
  c.nVocab = static_cast<int64_t>(embd->dims[1]);

  // Every tensor the decode step reads, with the shape the config implies.
  int64_t qDim = c.nHead * c.headDim, kvDim = c.nHeadKv * c.headDim;
  struct Want {
    std::string name;
    int64_t rows, cols;
    bool linear; // a matmul weight (2-bit); otherwise f32/f16 only
  };
  std::vector<Want> wants = {{"token_embd.weight", c.nVocab, c.nEmbd, false},
                             {"output_norm.weight", 1, c.nEmbd, false}};
  for (int64_t l = 0; l < c.nLayer; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    wants.push_back({p + "attn_norm.weight", 1, c.nEmbd, false});
    wants.push_back({p + "attn_q.weight", qDim, c.nEmbd, true});
    wants.push_back({p + "attn_k.weight", kvDim, c.nEmbd, true});
    wants.push_back({p + "attn_v.weight", kvDim, c.nEmbd, true});
    wants.push_back({p + "attn_q_norm.weight", 1, c.headDim, false});
    wants.push_back({p + "attn_k_norm.weight", 1, c.headDim, false});
    wants.push_back({p + "attn_output.weight", c.nEmbd, qDim, true});
    wants.push_back({p + "ffn_norm.weight", 1, c.nEmbd, false});
    wants.push_back({p + "ffn_gate.weight", c.nFF, c.nEmbd, true});
    wants.push_back({p + "ffn_up.weight", c.nFF, c.nEmbd, true});
    wants.push_back({p + "ffn_down.weight", c.nEmbd, c.nFF, true});
  }

  int64_t offset = 0;
  for (const Want &w : wants) {
    const gguf::TensorInfo *t = f.findTensor(w.name);
    if (!t) {
      error = path + ": missing tensor '" + w.name + "'";
      return nullptr;
    }
    // ggml dims: [cols (row length), rows]; 1-D vectors are one row.
    int64_t cols = static_cast<int64_t>(t->dims[0]);
    int64_t rows = t->dims.size() > 1 ? static_cast<int64_t>(t->dims[1]) : 1;
    bool extraDims = false;
    for (size_t i = 2; i < t->dims.size(); ++i)
      extraDims |= t->dims[i] != 1;
    if (rows != w.rows || cols != w.cols || extraDims) {
      error = path + ": tensor '" + w.name + "' has shape [" +
              std::to_string(cols) + ", " + std::to_string(rows) +
              "] (ggml order) but the config implies [" +
              std::to_string(w.cols) + ", " + std::to_string(w.rows) + "]";
      return nullptr;
    }
    std::optional<WeightFormat> format = formatOf(t->type);
    // Linear layers: Q2_0C (the kernels), or Q2_K / TQ2_0 (decoded by
    // plain loops: correct but slow). Everything else: f32, f16, q8_0.
    bool twoBit = format && (*format == WeightFormat::Q2_0C || *format == WeightFormat::Q2_K ||
                             *format == WeightFormat::TQ2_0);
    bool ok = format && (w.linear ? twoBit : !twoBit);
    if (w.name == "token_embd.weight" && format && *format == WeightFormat::Q8_0)
      ok = true;
    if (w.name == "output_norm.weight" || w.name.find("norm") != std::string::npos)
      ok = ok && *format == WeightFormat::F32;
    if (!ok) {
      error = path + ": tensor '" + w.name + "' has type " +
              quantTypeName(t->type) + ", which this compiler does not support there (" +
              (w.linear ? "linear layers must be q2_0c, q2_K or tq2_0"
                        : w.name == "token_embd.weight" ? "the embedding must be q8_0, f16 or f32"
                                                        : "norm weights must be f32") +
              ")";
      return nullptr;
    }
    WeightEntry e;
    e.name = w.name;
    e.format = *format;
    e.rows = rows;
    e.cols = cols;
    e.source = f.tensorData(*t);
    e.bytes = static_cast<int64_t>(t->nbytes);
    e.blobOffset = offset;
    offset = (offset + e.bytes + 63) / 64 * 64;
    model->weights.push_back(std::move(e));
  }
  model->blobBytes = offset;
  int64_t loopWeights = 0;
  for (const WeightEntry &e : model->weights)
    loopWeights += e.format == WeightFormat::Q2_K || e.format == WeightFormat::TQ2_0;
  if (loopWeights > 0)
    model->notes.push_back(std::to_string(loopWeights) +
                           " linear weights are q2_K or tq2_0: they run on "
                           "float-activation GEMV kernels (slower than q2_0c's)");
  return model;
}
