//===- TokenizerExport.cpp - NAME.tokenizer from a GGUF file's metadata ---===//
#include "TokenizerExport.h"

#include "gguf/GGUFFile.h"
#include "hy/hy_tokenizer_file.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <unordered_map>
#include <vector>

using namespace hyc;

namespace {
constexpr int32_t kTypeNormal = 1, kTypeControl = 3, kTypeUserDefined = 4,
                  kTypeMax = 6;

/// GPT-2's reversible byte -> printable code point map, inverted: code point
/// -> byte, -1 for code points that stand for no byte.
std::unordered_map<uint32_t, int> unicodeToByte() {
  std::unordered_map<uint32_t, int> map;
  uint32_t extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                     (b >= 0xAE && b <= 0xFF);
    map[printable ? static_cast<uint32_t>(b) : 256 + extra++] = b;
  }
  return map;
}

/// Decodes UTF-8 into code points; false on malformed input.
bool decodeUtf8(const std::string &s, std::vector<uint32_t> &out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3
                       : (b & 0xF8) == 0xF0     ? 4
                                                : 0;
    if (len == 0 || i + len > s.size())
      return false;
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      unsigned char c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    out.push_back(cp);
    i += len;
  }
  return true;
}

class Writer {
public:
  void u8(uint8_t v) { buf.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      buf.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void bytes(const std::string &s) {
    u32(static_cast<uint32_t>(s.size()));
    buf += s;
  }
  std::string finish() {
    uint64_t h = 0xcbf29ce484222325ull;
    for (char c : buf)
      h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    for (int i = 0; i < 8; ++i)
      buf.push_back(static_cast<char>((h >> (8 * i)) & 0xFF));
    return std::move(buf);
  }
  std::string buf;
};

/// The HY chat template's pieces, when `tmpl` is one of HY's templates (it
/// names the user and assistant markers). The strings come from the
/// vocabulary; the order in which the runtime emits them is fixed.
bool chatPieces(const std::string &tmpl, const std::vector<std::string> &text,
                const std::unordered_map<std::string, int32_t> &ids,
                int32_t bos, int32_t eos, std::array<std::string, HY_CHAT_N_STRINGS> &out,
                std::string &error) {
  static const char *user = "<｜hy_User｜>", *assistant = "<｜hy_Assistant｜>",
                    *systemEnd = "<｜hy_place▁holder▁no▁3｜>",
                    *turnEnd = "<｜hy_place▁holder▁no▁2｜>";
  auto mentions = [&](const std::string &s) {
    return tmpl.find(s) != std::string::npos;
  };
  if (!mentions(user) || !mentions(assistant))
    return false;
  for (const char *marker : {user, assistant})
    if (!ids.count(marker)) {
      error = std::string("tokenizer.chat_template uses '") + marker +
              "', which is not a token of the vocabulary";
      return false;
    }
  out[HY_CHAT_BOS] = bos >= 0 ? text[bos] : "";
  out[HY_CHAT_SYSTEM_SUFFIX] = mentions(systemEnd) && ids.count(systemEnd) ? systemEnd : "";
  out[HY_CHAT_USER_PREFIX] = user;
  out[HY_CHAT_ASSISTANT_PREFIX] = assistant;
  // An assistant turn ends with the EOS token when the template says so
  // (literally or as eos_token), else with HY's end-of-turn placeholder.
  if (eos >= 0 && (mentions("eos_token") || mentions(text[eos])))
    out[HY_CHAT_ASSISTANT_SUFFIX] = text[eos];
  else if (mentions(turnEnd) && ids.count(turnEnd))
    out[HY_CHAT_ASSISTANT_SUFFIX] = turnEnd;
  out[HY_CHAT_THINK_EMPTY] = "<think>\n\n</think>\n";
  out[HY_CHAT_THINK_OPEN] = "<think>";
  out[HY_CHAT_THINK_CLOSE] = "</think>";
  out[HY_CHAT_MARK_THINK] = "/think";
  out[HY_CHAT_MARK_NO_THINK] = "/no_think";
  return true;
}
} // namespace

bool hyc::exportTokenizer(const gguf::GGUFFile &file, int64_t expectedVocab,
                          const std::string &path, std::string &error) {
  auto fail = [&](const std::string &msg) {
    error = file.path() + ": cannot export the tokenizer: " + msg;
    return false;
  };
  std::string model, pre, sub;
  if (!file.getString("tokenizer.ggml.model", model, sub))
    return fail(sub);
  if (model != "gpt2")
    return fail("tokenizer.ggml.model is '" + model +
                "'; hyc supports 'gpt2' (byte-level BPE)");
  if (!file.getString("tokenizer.ggml.pre", pre, sub))
    return fail(sub);
  if (pre != "hunyuan-dense" && pre != "deepseek-v3")
    return fail("tokenizer.ggml.pre is '" + pre +
                "'; hyc supports 'hunyuan-dense' and 'deepseek-v3'");

  std::vector<std::string> tokens, merges;
  if (!file.getStringArray("tokenizer.ggml.tokens", tokens, sub) ||
      !file.getStringArray("tokenizer.ggml.merges", merges, sub))
    return fail(sub);
  const size_t n = tokens.size();
  if (static_cast<int64_t>(n) != expectedVocab)
    return fail("tokenizer.ggml.tokens has " + std::to_string(n) +
                " tokens, the model's vocabulary is " +
                std::to_string(expectedVocab));
  std::vector<int32_t> types(n, kTypeNormal);
  if (file.find("tokenizer.ggml.token_type")) {
    if (!file.getI32Array("tokenizer.ggml.token_type", types, sub))
      return fail(sub);
    if (types.size() != n)
      return fail("tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                  " entries for " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i)
      if (types[i] < 0 || types[i] > kTypeMax)
        return fail("tokenizer.ggml.token_type[" + std::to_string(i) +
                    "] is " + std::to_string(types[i]));
  }
  auto optionalId = [&](const char *key, int32_t &id) {
    id = -1;
    if (!file.find(key))
      return true;
    int64_t v;
    if (!file.getI64(key, v, sub))
      return false;
    if (v < 0 || v >= static_cast<int64_t>(n)) {
      sub = std::string(key) + " is " + std::to_string(v) + ", outside the vocabulary";
      return false;
    }
    id = static_cast<int32_t>(v);
    return true;
  };
  int32_t bos, eos, pad, eot, eom;
  if (!optionalId("tokenizer.ggml.bos_token_id", bos) ||
      !optionalId("tokenizer.ggml.eos_token_id", eos) ||
      !optionalId("tokenizer.ggml.padding_token_id", pad) ||
      !optionalId("tokenizer.ggml.eot_token_id", eot) ||
      !optionalId("tokenizer.ggml.eom_token_id", eom))
    return fail(sub);

  // Token bytes: byte-level tokens are spelled with GPT-2's printable code
  // points; special ones (and anything that is not a valid spelling) are
  // taken literally.
  static const std::unordered_map<uint32_t, int> u2b = unicodeToByte();
  std::vector<std::string> bytes(n);
  std::unordered_map<std::string, int32_t> idOf; // GGUF spelling -> first id
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < n; ++i) {
    idOf.emplace(tokens[i], static_cast<int32_t>(i));
    bool special = types[i] == kTypeControl || types[i] == kTypeUserDefined;
    if (!special && decodeUtf8(tokens[i], cps)) {
      std::string raw;
      bool ok = true;
      for (uint32_t cp : cps) {
        auto it = u2b.find(cp);
        if (it == u2b.end()) {
          ok = false;
          break;
        }
        raw.push_back(static_cast<char>(it->second));
      }
      bytes[i] = ok ? raw : tokens[i];
    } else {
      bytes[i] = tokens[i];
    }
  }

  // Merges "a b" -> (id a, id b, id ab), best first; a repeated pair keeps
  // its first (best) rank.
  std::vector<std::array<int32_t, 3>> mergeIds;
  mergeIds.reserve(merges.size());
  std::set<std::pair<int32_t, int32_t>> seen;
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string &m = merges[r];
    size_t sp = m.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= m.size() ||
        m.find(' ', sp + 1) != std::string::npos)
      return fail("tokenizer.ggml.merges[" + std::to_string(r) + "] '" + m +
                  "' is not two tokens separated by one space");
    std::string a = m.substr(0, sp), b = m.substr(sp + 1);
    auto ia = idOf.find(a), ib = idOf.find(b), ic = idOf.find(a + b);
    if (ia == idOf.end() || ib == idOf.end() || ic == idOf.end())
      return fail("tokenizer.ggml.merges[" + std::to_string(r) + "] '" + m +
                  "' names a token that is not in the vocabulary");
    if (bytes[ic->second] != bytes[ia->second] + bytes[ib->second])
      return fail("tokenizer.ggml.merges[" + std::to_string(r) + "] '" + m +
                  "' does not spell its result");
    if (seen.insert({ia->second, ib->second}).second)
      mergeIds.push_back({ia->second, ib->second, ic->second});
  }
  std::array<bool, 256> haveByte{};
  for (size_t i = 0; i < n; ++i)
    if (bytes[i].size() == 1 && types[i] != kTypeControl &&
        types[i] != kTypeUserDefined)
      haveByte[static_cast<unsigned char>(bytes[i][0])] = true;
  for (int b = 0; b < 256; ++b)
    if (!haveByte[b])
      return fail("the vocabulary has no token for byte " + std::to_string(b) +
                  " (not a byte-level BPE vocabulary)");

  std::array<std::string, HY_CHAT_N_STRINGS> chat;
  bool hasChat = false;
  if (file.find("tokenizer.chat_template")) {
    std::string tmpl;
    if (!file.getString("tokenizer.chat_template", tmpl, sub))
      return fail(sub);
    sub.clear();
    hasChat = chatPieces(tmpl, tokens, idOf, bos, eos, chat, sub);
    if (!sub.empty())
      return fail(sub);
  }

  // Tokens that end generation: EOS, end of turn / message, and the token
  // that closes an assistant turn in the chat template.
  std::vector<int32_t> eog;
  auto addEog = [&](int32_t id) {
    if (id >= 0 && std::find(eog.begin(), eog.end(), id) == eog.end())
      eog.push_back(id);
  };
  addEog(eos);
  addEog(eot);
  addEog(eom);
  if (hasChat && !chat[HY_CHAT_ASSISTANT_SUFFIX].empty())
    addEog(idOf.at(chat[HY_CHAT_ASSISTANT_SUFFIX]));

  Writer w;
  w.buf.append(HY_TOKENIZER_FILE_MAGIC, sizeof HY_TOKENIZER_FILE_MAGIC);
  w.u32(HY_TOKENIZER_FILE_VERSION);
  w.u32(HY_PRE_SPLIT_DEEPSEEK_V3);
  w.u32(static_cast<uint32_t>(n));
  w.u32(static_cast<uint32_t>(mergeIds.size()));
  w.i32(bos);
  w.i32(eos);
  w.i32(pad);
  w.u32(static_cast<uint32_t>(eog.size()));
  for (int32_t id : eog)
    w.i32(id);
  for (size_t i = 0; i < n; ++i) {
    w.u8(static_cast<uint8_t>(types[i]));
    w.bytes(bytes[i]);
  }
  for (const auto &m : mergeIds)
    for (int32_t id : m)
      w.i32(id);
  w.u32(hasChat ? HY_CHAT_N_STRINGS : 0);
  if (hasChat)
    for (const std::string &s : chat)
      w.bytes(s);
  std::string data = w.finish();

  std::ofstream os(path, std::ios::binary);
  os.write(data.data(), static_cast<std::streamsize>(data.size()));
  os.close();
  if (!os) {
    error = "cannot write the tokenizer file '" + path + "'";
    return false;
  }
  return true;
}
