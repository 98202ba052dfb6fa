//===- Inspect.cpp - `hyc inspect`: what a GGUF file holds ---------------===//
//
// Prints a GGUF file's architecture, hyperparameters, tokenizer summary,
// tensor table, totals per type and bits per weight. Only the reader is
// involved, so any file it accepts can be inspected, including ones whose
// tensor types or architecture `hyc compile` does not support.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "common/QuantTypes.h"
#include "gguf/GGUFFile.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

using namespace hyc;
using namespace hyc::gguf;

namespace {

/// 1234567 -> "1,234,567".
std::string grouped(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

/// 1.79e9 -> "1.79B", 48.2e6 -> "48.2M".
std::string humanCount(uint64_t v) {
  char buf[32];
  if (v >= 1000000000ull)
    std::snprintf(buf, sizeof(buf), "%.2fB", v / 1e9);
  else if (v >= 1000000ull)
    std::snprintf(buf, sizeof(buf), "%.1fM", v / 1e6);
  else if (v >= 1000ull)
    std::snprintf(buf, sizeof(buf), "%.1fK", v / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(v));
  return buf;
}

std::string humanBytes(uint64_t v) {
  char buf[32];
  if (v >= (1ull << 30))
    std::snprintf(buf, sizeof(buf), "%.2f GiB", v / double(1ull << 30));
  else if (v >= (1ull << 20))
    std::snprintf(buf, sizeof(buf), "%.1f MiB", v / double(1ull << 20));
  else if (v >= (1ull << 10))
    std::snprintf(buf, sizeof(buf), "%.1f KiB", v / double(1ull << 10));
  else
    std::snprintf(buf, sizeof(buf), "%llu B",
                  static_cast<unsigned long long>(v));
  return buf;
}

std::string bitsPerWeight(uint64_t bytes, uint64_t elements) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f",
                elements ? 8.0 * bytes / elements : 0.0);
  return buf;
}

std::string shapeString(const std::vector<uint64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

/// The linear (matmul) weights of a transformer block: 2-D blk.N.attn_* or
/// blk.N.ffn_* tensors (norm vectors are 1-D, so they never match).
bool isLinearLayer(const TensorInfo &t) {
  if (t.dims.size() != 2 || t.name.compare(0, 4, "blk.") != 0)
    return false;
  size_t dot = t.name.find('.', 4);
  if (dot == std::string::npos)
    return false;
  std::string rest = t.name.substr(dot + 1);
  return rest.compare(0, 5, "attn_") == 0 || rest.compare(0, 4, "ffn_") == 0;
}

/// Whether \p s is well-formed UTF-8 (no overlongs, surrogates or values
/// above U+10FFFF).
bool isUtf8(const std::string &s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80         ? 0
            : (c >> 5) == 6  ? 1
            : (c >> 4) == 14 ? 2
            : (c >> 3) == 30 ? 3
                             : -1;
    if (n < 0 || i + n >= s.size())
      return false;
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (int k = 1; k <= n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2)
        return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    static const uint32_t Min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < Min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

/// A token's text for display: quoted, readable UTF-8 kept as is (tokens
/// like "<｜hy_User｜>" stay legible), control bytes and broken UTF-8 escaped
/// as \xNN.
std::string tokenText(const std::vector<std::string> &tokens, uint64_t id) {
  if (id >= tokens.size())
    return "(out of range: vocabulary has " + std::to_string(tokens.size()) +
           " tokens)";
  const std::string &t = tokens[id];
  bool utf8 = isUtf8(t);
  std::string out = "'";
  for (unsigned char c : t) {
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'' ||
        (c >= 0x80 && !utf8)) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

void printTokenizer(const GGUFFile &f) {
  std::printf("\ntokenizer:\n");
  std::string model, pre, ignored;
  bool hasModel = f.getString("tokenizer.ggml.model", model, ignored);
  f.getString("tokenizer.ggml.pre", pre, ignored);
  if (!hasModel) {
    std::printf("  (no tokenizer.ggml.model key: no tokenizer in this file)\n");
    return;
  }
  std::vector<std::string> tokens, merges;
  f.getStringArray("tokenizer.ggml.tokens", tokens, ignored);
  bool hasMerges = f.getStringArray("tokenizer.ggml.merges", merges, ignored);
  std::printf("  model %s, pre %s\n", model.c_str(),
              pre.empty() ? "(none)" : pre.c_str());
  std::printf("  vocabulary %s tokens", grouped(tokens.size()).c_str());
  std::vector<int32_t> types;
  if (f.getI32Array("tokenizer.ggml.token_type", types, ignored)) {
    static const char *const TypeNames[] = {
        "undefined", "normal", "unknown", "control", "user", "unused", "byte"};
    std::map<int32_t, uint64_t> counts;
    for (int32_t t : types)
      ++counts[t];
    std::string parts;
    for (const auto &[t, n] : counts) {
      parts += parts.empty() ? "" : ", ";
      parts += grouped(n) + " " +
               (t >= 0 && t <= 6 ? TypeNames[t] : "type " + std::to_string(t));
    }
    std::printf(" (%s)", parts.c_str());
  }
  std::printf("\n  merges %s\n",
              hasMerges ? grouped(merges.size()).c_str() : "(none)");

  static const char *const Specials[] = {
      "bos", "eos", "eot", "eom", "unknown", "padding", "sep", "mask", "cls"};
  bool any = false;
  for (const char *role : Specials) {
    uint32_t id;
    std::string key = std::string("tokenizer.ggml.") + role + "_token_id";
    if (!f.getU32(key, id, ignored))
      continue;
    if (!any)
      std::printf("  special ids:\n");
    any = true;
    std::printf("    %-8s %-8u %s\n", role, id, tokenText(tokens, id).c_str());
  }
  if (!any)
    std::printf("  special ids: (none)\n");
  std::string tmpl;
  if (f.getString("tokenizer.chat_template", tmpl, ignored))
    std::printf("  chat template: present (%s characters)\n",
                grouped(tmpl.size()).c_str());
  else
    std::printf("  chat template: absent\n");
}

} // namespace

int hyc::driver::inspectMain(const std::vector<std::string> &args) {
  const std::string cmd = "inspect";
  std::string path;
  bool showTensors = true;
  for (const std::string &a : args) {
    if (a == "--no-tensors")
      showTensors = false;
    else if (!a.empty() && a[0] == '-')
      return fail(cmd, "unknown option '" + a + "'");
    else if (path.empty())
      path = a;
    else
      return fail(cmd,
                  "more than one input file ('" + path + "', '" + a + "')");
  }
  if (path.empty())
    return fail(cmd, "usage: hyc inspect FILE.gguf [--no-tensors]");

  std::string error;
  std::unique_ptr<GGUFFile> file = GGUFFile::open(path, error);
  if (!file)
    return fail(cmd, error);
  const GGUFFile &f = *file;

  std::string arch, name, ignored;
  f.getString("general.architecture", arch, ignored);
  f.getString("general.name", name, ignored);
  std::printf("file: %s\n", path.c_str());
  std::printf("  GGUF v%u, %s bytes (%s), alignment %llu, %zu metadata keys, "
              "%zu tensors\n",
              f.version(), grouped(f.fileSize()).c_str(),
              humanBytes(f.fileSize()).c_str(),
              static_cast<unsigned long long>(f.alignment()),
              f.metadata().size(), f.tensors().size());
  std::printf("architecture: %s\n", arch.empty() ? "(none)" : arch.c_str());
  if (!name.empty())
    std::printf("name: %s\n", name.c_str());

  // Hyperparameters: the ARCH.* keys, in file order.
  std::printf("\nhyperparameters:\n");
  const std::string prefix = arch + ".";
  size_t width = 0;
  for (const MetadataEntry &m : f.metadata())
    if (!arch.empty() && m.key.compare(0, prefix.size(), prefix) == 0)
      width = std::max(width, m.key.size() - prefix.size());
  bool anyHyper = false;
  for (const MetadataEntry &m : f.metadata()) {
    if (arch.empty() || m.key.compare(0, prefix.size(), prefix) != 0)
      continue;
    anyHyper = true;
    std::printf("  %-*s %s\n", static_cast<int>(width),
                m.key.substr(prefix.size()).c_str(),
                m.value.toString().c_str());
  }
  if (!anyHyper)
    std::printf("  (no %s* keys)\n", prefix.c_str());

  printTokenizer(f);

  // Everything else (general.*, vendor keys), so nothing in the file is
  // hidden; the tokenizer arrays are summarized above.
  std::vector<const MetadataEntry *> others;
  for (const MetadataEntry &m : f.metadata())
    if ((arch.empty() || m.key.compare(0, prefix.size(), prefix) != 0) &&
        m.key.compare(0, 10, "tokenizer.") != 0 &&
        m.key != "general.architecture" && m.key != "general.name")
      others.push_back(&m);
  if (!others.empty()) {
    std::printf("\nother metadata:\n");
    for (const MetadataEntry *m : others)
      std::printf("  %s = %s\n", m->key.c_str(), m->value.toString(4).c_str());
  }

  // Tensor table, totals per type, linear layers.
  struct Total {
    uint64_t tensors = 0, elements = 0, bytes = 0;
  };
  std::map<std::string, Total> byType;
  Total all, linear;
  size_t nameWidth = 4, shapeWidth = 5;
  for (const TensorInfo &t : f.tensors()) {
    nameWidth = std::max(nameWidth, t.name.size());
    shapeWidth = std::max(shapeWidth, shapeString(t.dims).size());
  }
  if (showTensors)
    std::printf("\ntensors (shape in ggml order, ne[0] = row length):\n"
                "  %-*s  %-*s  %-6s %15s\n",
                static_cast<int>(nameWidth), "name",
                static_cast<int>(shapeWidth), "shape", "type", "bytes");
  for (const TensorInfo &t : f.tensors()) {
    const char *type = quantTypeName(t.type);
    if (showTensors)
      std::printf("  %-*s  %-*s  %-6s %15s\n", static_cast<int>(nameWidth),
                  t.name.c_str(), static_cast<int>(shapeWidth),
                  shapeString(t.dims).c_str(), type, grouped(t.nbytes).c_str());
    for (Total *tot : {&byType[type], &all}) {
      ++tot->tensors;
      tot->elements += t.numElements;
      tot->bytes += t.nbytes;
    }
    if (isLinearLayer(t)) {
      ++linear.tensors;
      linear.elements += t.numElements;
      linear.bytes += t.nbytes;
    }
  }

  std::printf("\ntotals by type:\n  %-6s %8s %16s %16s %12s\n", "type",
              "tensors", "elements", "bytes", "bits/weight");
  for (const auto &[type, tot] : byType)
    std::printf("  %-6s %8s %16s %16s %12s\n", type.c_str(),
                grouped(tot.tensors).c_str(), grouped(tot.elements).c_str(),
                grouped(tot.bytes).c_str(),
                bitsPerWeight(tot.bytes, tot.elements).c_str());
  std::printf("  %-6s %8s %16s %16s %12s\n", "all",
              grouped(all.tensors).c_str(), grouped(all.elements).c_str(),
              grouped(all.bytes).c_str(),
              bitsPerWeight(all.bytes, all.elements).c_str());

  std::printf("\nlinear layers (2-D blk.*.attn_* / blk.*.ffn_*): %s tensors, "
              "%s weights, %s, %s bits per weight\n",
              grouped(linear.tensors).c_str(),
              humanCount(linear.elements).c_str(),
              humanBytes(linear.bytes).c_str(),
              bitsPerWeight(linear.bytes, linear.elements).c_str());
  std::printf("parameters: %s (%s)\n", grouped(all.elements).c_str(),
              humanCount(all.elements).c_str());
  return 0;
}
