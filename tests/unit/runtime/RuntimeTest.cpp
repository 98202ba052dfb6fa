//===- RuntimeTest.cpp - the hy runtime's C API: every call and its errors -===//
//
// Models used:
//  - the fake model (FakeModel.c) linked statically: tiny, deterministic,
//    n_ctx 16, so context overflow and library errors are easy to reach;
//  - the same fake model as libhy_fake.so in a hyc-like output directory
//    (HY_FAKE_LIB), for hy_model_open_dir and the optional entry points;
//  - the tiny synthetic HY model's tokenizer file and, when the compiler is
//    built, the tiny model compiled by hyc (HY_TEST_DATA, from the
//    runtime_test_data fixture). Tests needing them are skipped otherwise.
//===----------------------------------------------------------------------===//
#include "hy/hy.h"
#include "hy_internal.h"

#ifndef FAKE_STATIC
#define FAKE_STATIC
#endif
#include "FakeModel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

// Paths from the environment, else the build's defaults (CMake defines).
std::string env(const char *name) {
  const char *v = std::getenv(name);
  if (v)
    return v;
  if (std::strcmp(name, "HY_TEST_DATA") == 0)
    return HY_TEST_DATA_DEFAULT;
  if (std::strcmp(name, "HY_FAKE_LIB") == 0)
    return HY_FAKE_LIB_DEFAULT;
  return "";
}
std::string testData() { return env("HY_TEST_DATA"); }
std::string tinyTokenizer() { return testData().empty() ? "" : testData() + "/tiny.tokenizer"; }
std::string tinyModelDir() { return testData().empty() ? "" : testData() + "/model"; }
bool exists(const std::string &p) { return !p.empty() && access(p.c_str(), F_OK) == 0; }

#define REQUIRE_FILE(path)                                                     \
  do {                                                                         \
    if (!exists(path))                                                         \
      GTEST_SKIP() << "needs " << #path << " (set by the runtime_test_data fixture)"; \
  } while (0)

std::string readFile(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void writeFile(const std::string &p, const std::string &data) {
  std::ofstream f(p, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

/// A temporary directory removed at the end of the test.
class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/hy-runtime-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string &name) const { return path + "/" + name; }
  std::string path;
};

std::string fakeWeights() {
  std::string w(FAKE_WEIGHTS, '\0');
  fake_static_fill_weights(reinterpret_cast<uint8_t *>(&w[0]));
  return w;
}

struct ModelPtr {
  hy_model_t *m = nullptr;
  ~ModelPtr() { hy_model_release(m); }
};
struct CtxPtr {
  hy_context_t *c = nullptr;
  ~CtxPtr() { hy_context_release(c); }
};

/// Opens the static fake model (weights in `dir`), optionally with a
/// tokenizer, the prefill entry and a thread pool.
hy_status_t openFake(const TempDir &dir, hy_model_t **out, const std::string &tokenizer = "",
                     bool prefill = false, int32_t threads = 0,
                     const hy_model_desc_t *desc = &fake_static_desc) {
  std::string w = dir.file("fake.weights");
  if (!exists(w))
    writeFile(w, fakeWeights());
  hy_model_options_t o;
  hy_model_options_init(&o);
  o.tokenizer_path = tokenizer.empty() ? nullptr : tokenizer.c_str();
  o.prefill = prefill ? fake_static_prefill : nullptr;
  o.n_threads = threads;
  o.set_parallel = threads ? fake_static_set_parallel : nullptr;
  return hy_model_open_static_ex(desc, fake_static_decode, w.c_str(), &o, out);
}

/// Greedy tokens of the fake model after `prompt` (the model's rule, computed
/// independently of the runtime).
std::vector<int32_t> fakeGreedy(std::vector<int32_t> prompt, int steps) {
  std::vector<int32_t> out;
  std::string w = fakeWeights();
  for (int s = 0; s < steps; ++s) {
    uint32_t h = 2166136261u;
    for (int32_t t : prompt)
      h = (h ^ static_cast<uint32_t>(t)) * 16777619u;
    int32_t pos = static_cast<int32_t>(prompt.size()) - 1;
    h = (h ^ static_cast<uint8_t>(w[pos % FAKE_WEIGHTS])) * 16777619u;
    int32_t next = FAKE_NEXT(h, pos);
    out.push_back(next);
    prompt.push_back(next);
  }
  return out;
}

} // namespace

// ---- statuses and errors ------------------------------------------------------

TEST(Status, NamesAndLastError) {
  EXPECT_STREQ(hy_status_string(HY_OK), "HY_OK");
  EXPECT_STREQ(hy_status_string(HY_ERR_CONTEXT_FULL), "HY_ERR_CONTEXT_FULL");
  EXPECT_STREQ(hy_status_string(HY_ERR_CANCELLED), "HY_ERR_CANCELLED");
  EXPECT_STREQ(hy_status_string(static_cast<hy_status_t>(1234)), "HY_ERR_UNKNOWN");
  EXPECT_EQ(hy_context_reset(nullptr), HY_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(hy_last_error(), "ctx is NULL"), nullptr);
  // Per thread: another thread's errors do not show here.
  std::thread([] { hy_model_desc(nullptr); }).join();
  EXPECT_NE(std::strstr(hy_last_error(), "ctx is NULL"), nullptr);
}

// ---- opening models ---------------------------------------------------------------

TEST(Model, OpenStaticArguments) {
  TempDir d;
  writeFile(d.file("fake.weights"), fakeWeights());
  std::string w = d.file("fake.weights");
  hy_model_t *m = reinterpret_cast<hy_model_t *>(0x1);
  EXPECT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, w.c_str(), nullptr),
            HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_model_open_static(nullptr, fake_static_decode, w.c_str(), &m), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr); // cleared on failure
  EXPECT_EQ(hy_model_open_static(&fake_static_desc, nullptr, w.c_str(), &m), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, nullptr, &m),
            HY_ERR_INVALID_ARGUMENT);
  hy_model_options_t o;
  hy_model_options_init(&o);
  o.n_threads = -1;
  EXPECT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m),
            HY_ERR_INVALID_ARGUMENT);
  hy_model_options_init(nullptr); // no crash
  ASSERT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, w.c_str(), &m), HY_OK)
      << hy_last_error();
  hy_model_release(m);
  hy_model_release(nullptr);
}

TEST(Model, WrongAbiVersion) {
  TempDir d;
  hy_model_desc_t desc = fake_static_desc;
  desc.abi_version = HY_ABI_VERSION + 1;
  ModelPtr m;
  EXPECT_EQ(openFake(d, &m.m, "", false, 0, &desc), HY_ERR_ABI_MISMATCH);
  EXPECT_NE(std::strstr(hy_last_error(), "ABI version"), nullptr) << hy_last_error();
  desc.abi_version = 0;
  EXPECT_EQ(openFake(d, &m.m, "", false, 0, &desc), HY_ERR_ABI_MISMATCH);
}

// A library that needs CPU features this CPU lacks is refused before any of
// its code runs, naming them: an AArch64 bit on x86 and an x86 bit on AArch64
// are never present.
TEST(Model, MissingCpuFeatures) {
  TempDir d;
  ModelPtr m;
  hy_model_desc_t desc = fake_static_desc;
#if defined(__x86_64__)
  desc.cpu_features = HY_CPU_AVX2 | HY_CPU_SME2 | HY_CPU_I8MM;
  const char *names = "i8mm sme2";
#else
  desc.cpu_features = HY_CPU_ASIMDDP | HY_CPU_AVX512VNNI;
  const char *names = "avx512vnni";
#endif
  EXPECT_EQ(openFake(d, &m.m, "", false, 0, &desc), HY_ERR_UNSUPPORTED);
  EXPECT_EQ(m.m, nullptr);
  EXPECT_NE(std::strstr(hy_last_error(), names), nullptr) << hy_last_error();
  EXPECT_NE(std::strstr(hy_last_error(), "--target host"), nullptr) << hy_last_error();
}

TEST(Model, BadDescription) {
  TempDir d;
  ModelPtr m;
  hy_model_desc_t desc = fake_static_desc;
  desc.n_vocab = 0;
  EXPECT_EQ(openFake(d, &m.m, "", false, 0, &desc), HY_ERR_CORRUPT);
  desc = fake_static_desc;
  desc.kv_bytes = -5;
  EXPECT_EQ(openFake(d, &m.m, "", false, 0, &desc), HY_ERR_CORRUPT);
  desc = fake_static_desc;
  desc.eos_id = desc.n_vocab;
  EXPECT_EQ(openFake(d, &m.m, "", false, 0, &desc), HY_ERR_CORRUPT);
}

TEST(Model, CorruptWeights) {
  TempDir d;
  ModelPtr m;
  std::string w = d.file("fake.weights");
  EXPECT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, w.c_str(), &m.m), HY_ERR_IO);
  writeFile(w, "");
  EXPECT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, w.c_str(), &m.m),
            HY_ERR_CORRUPT);
  std::string data = fakeWeights();
  writeFile(w, data.substr(0, data.size() - 1)); // one byte short
  EXPECT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, w.c_str(), &m.m),
            HY_ERR_CORRUPT);
  EXPECT_NE(std::strstr(hy_last_error(), "bytes"), nullptr);
  data[1234] ^= 0x10; // right size, one bit flipped
  writeFile(w, data);
  EXPECT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, w.c_str(), &m.m),
            HY_ERR_CORRUPT);
  EXPECT_NE(std::strstr(hy_last_error(), "hash"), nullptr);
  EXPECT_EQ(m.m, nullptr);
}

TEST(Model, TokenizerFileErrors) {
  TempDir d;
  ModelPtr m;
  hy_model_options_t o;
  hy_model_options_init(&o);
  writeFile(d.file("fake.weights"), fakeWeights());
  std::string w = d.file("fake.weights"), t = d.file("explicit.tokenizer");
  o.tokenizer_path = t.c_str();
  EXPECT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_ERR_IO); // explicit and missing
  writeFile(t, "HYTOKEN");
  EXPECT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_ERR_CORRUPT);
  writeFile(t, std::string("NOTATOKENIZER") + std::string(64, 'x'));
  EXPECT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_ERR_CORRUPT);
  if (!exists(tinyTokenizer()))
    GTEST_SKIP() << "needs the tiny tokenizer";
  std::string good = readFile(tinyTokenizer());
  std::string bad = good;
  bad[bad.size() / 2] ^= 1; // checksum catches it
  writeFile(t, bad);
  EXPECT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_ERR_CORRUPT);
  EXPECT_NE(std::strstr(hy_last_error(), "checksum"), nullptr) << hy_last_error();
  writeFile(t, good.substr(0, good.size() - 100));
  EXPECT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_ERR_CORRUPT);
  bad = good;
  bad[8] = 99; // version
  writeFile(t, bad);
  EXPECT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_ERR_CORRUPT);
  EXPECT_NE(std::strstr(hy_last_error(), "version"), nullptr) << hy_last_error();
  hy_model_desc_t desc = fake_static_desc; // vocabulary size mismatch
  desc.n_vocab = 600;
  writeFile(t, good);
  EXPECT_EQ(hy_model_open_static_ex(&desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_ERR_CORRUPT);
  ASSERT_EQ(hy_model_open_static_ex(&fake_static_desc, fake_static_decode, w.c_str(), &o, &m.m),
            HY_OK)
      << hy_last_error();
  // The default tokenizer path: NAME.tokenizer beside NAME.weights.
  ModelPtr m2;
  writeFile(d.file("fake.tokenizer"), good);
  ASSERT_EQ(hy_model_open_static(&fake_static_desc, fake_static_decode, w.c_str(), &m2.m), HY_OK);
  hy_model_info_t info;
  ASSERT_EQ(hy_model_info(m2.m, &info), HY_OK);
  EXPECT_TRUE(info.has_tokenizer);
}

TEST(Model, DescAndInfo) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  EXPECT_EQ(hy_model_desc(nullptr), nullptr);
  const hy_model_desc_t *desc = hy_model_desc(m.m);
  ASSERT_NE(desc, nullptr);
  EXPECT_EQ(desc->n_vocab, FAKE_VOCAB);
  hy_model_info_t info;
  EXPECT_EQ(hy_model_info(nullptr, &info), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_model_info(m.m, nullptr), HY_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(hy_model_info(m.m, &info), HY_OK);
  EXPECT_EQ(info.n_ctx, FAKE_CTX);
  EXPECT_EQ(info.bos_id, FAKE_BOS);
  EXPECT_FALSE(info.has_tokenizer);
  EXPECT_FALSE(info.has_chat);
  EXPECT_FALSE(info.has_prefill);
  EXPECT_FALSE(info.has_parallel);
  EXPECT_EQ(info.n_threads, 1);
  ASSERT_EQ(info.n_eog, 1u); // without a tokenizer: the descriptor's EOS
  EXPECT_EQ(info.eog_ids[0], FAKE_EOS);
}

// ---- hy_model_open_dir (libhy_fake.so) -------------------------------------------

namespace {
/// A hyc-like output directory around libhy_fake.so.
void makeFakeDir(const TempDir &d, bool tokenizer = true) {
  std::string lib = env("HY_FAKE_LIB");
  writeFile(d.file("hy_model.name"), "fake\n");
  writeFile(d.file("libhy_fake.so"), readFile(lib));
  writeFile(d.file("fake.weights"), fakeWeights());
  if (tokenizer && exists(tinyTokenizer()))
    writeFile(d.file("fake.tokenizer"), readFile(tinyTokenizer()));
}
} // namespace

TEST(ModelDir, Errors) {
  ModelPtr m;
  EXPECT_EQ(hy_model_open_dir(nullptr, &m.m), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_model_open_dir("/tmp", nullptr), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_model_open_dir("/nonexistent/dir", &m.m), HY_ERR_IO);
  TempDir d;
  writeFile(d.file("hy_model.name"), "");
  EXPECT_EQ(hy_model_open_dir(d.path.c_str(), &m.m), HY_ERR_CORRUPT);
  writeFile(d.file("hy_model.name"), "Bad-Name\n");
  EXPECT_EQ(hy_model_open_dir(d.path.c_str(), &m.m), HY_ERR_CORRUPT);
  writeFile(d.file("hy_model.name"), "fake\n");
  EXPECT_EQ(hy_model_open_dir(d.path.c_str(), &m.m), HY_ERR_IO); // no library
  if (!exists(env("HY_FAKE_LIB")))
    GTEST_SKIP() << "needs HY_FAKE_LIB";
  // A library that does not export hy_other_*.
  writeFile(d.file("hy_model.name"), "other\n");
  writeFile(d.file("libhy_other.so"), readFile(env("HY_FAKE_LIB")));
  EXPECT_EQ(hy_model_open_dir(d.path.c_str(), &m.m), HY_ERR_CORRUPT);
  EXPECT_NE(std::strstr(hy_last_error(), "does not export"), nullptr);
  // Right library, no weights.
  writeFile(d.file("hy_model.name"), "fake\n");
  writeFile(d.file("libhy_fake.so"), readFile(env("HY_FAKE_LIB")));
  EXPECT_EQ(hy_model_open_dir(d.path.c_str(), &m.m), HY_ERR_IO);
  EXPECT_EQ(m.m, nullptr);
}

TEST(ModelDir, OptionalEntryPointsAndPool) {
  REQUIRE_FILE(env("HY_FAKE_LIB"));
  TempDir d;
  makeFakeDir(d);
  hy_model_options_t o;
  hy_model_options_init(&o);
  o.n_threads = 3;
  ModelPtr m;
  ASSERT_EQ(hy_model_open_dir_ex(d.path.c_str(), &o, &m.m), HY_OK) << hy_last_error();
  hy_model_info_t info;
  ASSERT_EQ(hy_model_info(m.m, &info), HY_OK);
  EXPECT_TRUE(info.has_prefill);
  EXPECT_TRUE(info.has_parallel);
  EXPECT_EQ(info.n_threads, 3);
  EXPECT_EQ(info.has_tokenizer, exists(tinyTokenizer()));
  // The library's parallel loops ran on the runtime's pool.
  void *lib = dlopen(d.file("libhy_fake.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(lib, nullptr);
  auto *tasks = static_cast<std::atomic<long> *>(dlsym(lib, "hy_fake_parallel_tasks"));
  auto *prefills = static_cast<std::atomic<long> *>(dlsym(lib, "hy_fake_prefill_calls"));
  ASSERT_TRUE(tasks && prefills);
  long t0 = tasks->load(), p0 = prefills->load();
  CtxPtr c;
  ASSERT_EQ(hy_context_create(m.m, &c.c), HY_OK);
  std::vector<int32_t> prompt = {FAKE_BOS, 17, 23, 42};
  std::vector<float> logits(FAKE_VOCAB);
  ASSERT_EQ(hy_prefill(c.c, prompt.data(), prompt.size(), logits.data(), logits.size()), HY_OK);
  EXPECT_EQ(prefills->load(), p0 + 1); // one batched call, not four decodes
  EXPECT_EQ(tasks->load(), t0 + 8);
  EXPECT_EQ(hy_argmax(logits.data(), logits.size()), fakeGreedy(prompt, 1)[0]);
  dlclose(lib);
}

// ---- contexts, decode, prefill ------------------------------------------------------

TEST(Context, CreateAndAccessors) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  hy_context_t *c = reinterpret_cast<hy_context_t *>(0x1);
  EXPECT_EQ(hy_context_create(nullptr, &c), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(hy_context_create(m.m, nullptr), HY_ERR_INVALID_ARGUMENT);
  hy_context_options_t co;
  hy_context_options_init(&co);
  hy_context_options_init(nullptr);
  EXPECT_EQ(co.max_stop_bytes, 256);
  co.max_stop_bytes = 0;
  EXPECT_EQ(hy_context_create_ex(m.m, &co, &c), HY_ERR_INVALID_ARGUMENT);
  CtxPtr ctx;
  ASSERT_EQ(hy_context_create(m.m, &ctx.c), HY_OK);
  hy_context_release(nullptr);
  EXPECT_EQ(hy_context_position(nullptr), -1);
  EXPECT_EQ(hy_context_position(ctx.c), 0);
  const int32_t *toks;
  size_t n;
  EXPECT_EQ(hy_context_tokens(nullptr, &toks, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_tokens(ctx.c, nullptr, &n), HY_ERR_INVALID_ARGUMENT);
  const float *lg;
  EXPECT_EQ(hy_context_logits(ctx.c, &lg, &n), HY_ERR_INVALID_ARGUMENT); // nothing decoded
  EXPECT_EQ(hy_context_logits(nullptr, &lg, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_cancel(nullptr), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_rewind(nullptr, 0), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_rewind(ctx.c, 1), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_rewind(ctx.c, -1), HY_ERR_INVALID_ARGUMENT);
  size_t kept;
  EXPECT_EQ(hy_context_keep_prefix(nullptr, nullptr, 0, &kept), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_keep_prefix(ctx.c, nullptr, 3, &kept), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_keep_prefix(ctx.c, nullptr, 0, nullptr), HY_ERR_INVALID_ARGUMENT);
}

TEST(Context, DecodeErrorsAndOverflow) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  CtxPtr c;
  ASSERT_EQ(hy_context_create(m.m, &c.c), HY_OK);
  std::vector<float> logits(FAKE_VOCAB + 1);
  EXPECT_EQ(hy_decode(nullptr, 1, logits.data(), logits.size()), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_decode(c.c, 1, nullptr, logits.size()), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_decode(c.c, 1, logits.data(), FAKE_VOCAB - 1), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_decode(c.c, -1, logits.data(), logits.size()), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_decode(c.c, FAKE_VOCAB, logits.data(), logits.size()), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_position(c.c), 0);
  // The library's own failure is HY_ERR_INTERNAL and decodes nothing.
  EXPECT_EQ(hy_decode(c.c, FAKE_ERROR_TOKEN, logits.data(), logits.size()), HY_ERR_INTERNAL);
  EXPECT_NE(std::strstr(hy_last_error(), "status 42"), nullptr);
  EXPECT_EQ(hy_context_position(c.c), 0);
  for (int i = 0; i < FAKE_CTX; ++i)
    ASSERT_EQ(hy_decode(c.c, 1 + i, logits.data(), FAKE_VOCAB), HY_OK) << i;
  EXPECT_EQ(hy_decode(c.c, 1, logits.data(), FAKE_VOCAB), HY_ERR_CONTEXT_FULL);
  EXPECT_NE(std::strstr(hy_last_error(), "context full"), nullptr);
  EXPECT_EQ(hy_context_position(c.c), FAKE_CTX);
  const int32_t *toks;
  size_t n;
  ASSERT_EQ(hy_context_tokens(c.c, &toks, &n), HY_OK);
  ASSERT_EQ(n, static_cast<size_t>(FAKE_CTX));
  EXPECT_EQ(toks[3], 4);
  ASSERT_EQ(hy_context_reset(c.c), HY_OK);
  EXPECT_EQ(hy_decode(c.c, 1, logits.data(), FAKE_VOCAB), HY_OK);
  EXPECT_EQ(hy_context_position(c.c), 1);
}

TEST(Context, PrefillErrorsAndEquivalence) {
  TempDir d;
  ModelPtr loop, batched;
  ASSERT_EQ(openFake(d, &loop.m), HY_OK);
  ASSERT_EQ(openFake(d, &batched.m, "", /*prefill=*/true), HY_OK);
  CtxPtr a, b;
  ASSERT_EQ(hy_context_create(loop.m, &a.c), HY_OK);
  ASSERT_EQ(hy_context_create(batched.m, &b.c), HY_OK);
  std::vector<float> la(FAKE_VOCAB), lb(FAKE_VOCAB);
  std::vector<int32_t> prompt = {FAKE_BOS, 5, 6, 7, 8};
  EXPECT_EQ(hy_prefill(nullptr, prompt.data(), 5, la.data(), la.size()), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_prefill(a.c, nullptr, 5, la.data(), la.size()), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_prefill(a.c, prompt.data(), 0, la.data(), la.size()), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_prefill(a.c, prompt.data(), 5, la.data(), 3), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_prefill(a.c, prompt.data(), 5, nullptr, 3), HY_ERR_INVALID_ARGUMENT);
  std::vector<int32_t> bad = {1, 2, FAKE_VOCAB + 7, 3};
  EXPECT_EQ(hy_prefill(a.c, bad.data(), bad.size(), nullptr, 0), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_position(a.c), 0); // checked before anything is decoded
  std::vector<int32_t> big(FAKE_CTX + 1, 3);
  EXPECT_EQ(hy_prefill(a.c, big.data(), big.size(), nullptr, 0), HY_ERR_CONTEXT_FULL);
  EXPECT_EQ(hy_context_position(a.c), 0);

  ASSERT_EQ(hy_prefill(a.c, prompt.data(), prompt.size(), la.data(), la.size()), HY_OK);
  ASSERT_EQ(hy_prefill(b.c, prompt.data(), prompt.size(), lb.data(), lb.size()), HY_OK);
  EXPECT_EQ(la, lb);
  EXPECT_EQ(hy_context_position(b.c), 5);
  const float *kept;
  size_t n;
  ASSERT_EQ(hy_context_logits(b.c, &kept, &n), HY_OK);
  EXPECT_EQ(std::vector<float>(kept, kept + n), lb);
  // Prefill continues at the current position; overflow still decodes nothing.
  std::vector<int32_t> more(FAKE_CTX - 5 + 1, 9);
  EXPECT_EQ(hy_prefill(b.c, more.data(), more.size(), nullptr, 0), HY_ERR_CONTEXT_FULL);
  EXPECT_EQ(hy_context_position(b.c), 5);
  // A library failure in the middle of a batch.
  std::vector<int32_t> failing = {1, FAKE_ERROR_TOKEN, 2};
  EXPECT_EQ(hy_prefill(b.c, failing.data(), failing.size(), nullptr, 0), HY_ERR_INTERNAL);
  // Cancel requested before the call: nothing decoded, the request is used up.
  ASSERT_EQ(hy_context_cancel(a.c), HY_OK);
  EXPECT_EQ(hy_prefill(a.c, prompt.data(), 2, nullptr, 0), HY_ERR_CANCELLED);
  EXPECT_EQ(hy_context_position(a.c), 5);
  EXPECT_EQ(hy_prefill(a.c, prompt.data(), 2, nullptr, 0), HY_OK);
}

TEST(Context, RewindAndKeepPrefix) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  CtxPtr c;
  ASSERT_EQ(hy_context_create(m.m, &c.c), HY_OK);
  std::vector<int32_t> a = {FAKE_BOS, 1, 2, 3, 4, 5};
  std::vector<float> full(FAKE_VOCAB), again(FAKE_VOCAB);
  ASSERT_EQ(hy_prefill(c.c, a.data(), a.size(), full.data(), full.size()), HY_OK);
  ASSERT_EQ(hy_context_rewind(c.c, 3), HY_OK);
  EXPECT_EQ(hy_context_position(c.c), 3);
  const float *lg;
  size_t n;
  EXPECT_EQ(hy_context_logits(c.c, &lg, &n), HY_ERR_INVALID_ARGUMENT); // stale
  ASSERT_EQ(hy_prefill(c.c, a.data() + 3, 3, again.data(), again.size()), HY_OK);
  EXPECT_EQ(full, again);
  // Same conversation plus more: everything but the last shared token is kept.
  std::vector<int32_t> b = a;
  b.push_back(6);
  size_t kept;
  ASSERT_EQ(hy_context_keep_prefix(c.c, b.data(), b.size(), &kept), HY_OK);
  EXPECT_EQ(kept, a.size());
  ASSERT_EQ(hy_context_keep_prefix(c.c, a.data(), a.size(), &kept), HY_OK);
  EXPECT_EQ(kept, a.size() - 1); // one token left to decode for fresh logits
  std::vector<int32_t> other = {FAKE_BOS, 1, 9};
  ASSERT_EQ(hy_context_keep_prefix(c.c, other.data(), other.size(), &kept), HY_OK);
  EXPECT_EQ(kept, 2u);
  EXPECT_EQ(hy_context_position(c.c), 2);
}

TEST(Argmax, Basics) {
  float v[] = {1, 3, 3, -1};
  EXPECT_EQ(hy_argmax(v, 4), 1);
  EXPECT_EQ(hy_argmax(v, 0), -1);
  EXPECT_EQ(hy_argmax(nullptr, 4), -1);
}

// ---- sampling ----------------------------------------------------------------------

TEST(Sampler, ErrorsAndGreedy) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  hy_sampler_options_t o;
  hy_sampler_options_init(&o);
  hy_sampler_options_init(nullptr);
  hy_sampler_t *s = reinterpret_cast<hy_sampler_t *>(0x1);
  EXPECT_EQ(hy_sampler_create(nullptr, &o, &s), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(hy_sampler_create(m.m, &o, nullptr), HY_ERR_INVALID_ARGUMENT);
  for (int k = 0; k < 5; ++k) {
    hy_sampler_options_t b = o;
    if (k == 0) b.temperature = NAN;
    if (k == 1) b.top_k = -1;
    if (k == 2) b.min_p = 1.5f;
    if (k == 3) b.repetition_penalty = 0;
    if (k == 4) b.repetition_last_n = -2;
    EXPECT_EQ(hy_sampler_create(m.m, &b, &s), HY_ERR_INVALID_ARGUMENT) << k;
  }
  o.temperature = 0;
  ASSERT_EQ(hy_sampler_create(m.m, &o, &s), HY_OK);
  std::vector<float> logits(FAKE_VOCAB, 0.0f);
  logits[77] = 3;
  logits[78] = 2.5f;
  int32_t t = -1;
  EXPECT_EQ(hy_sampler_sample(nullptr, logits.data(), logits.size(), nullptr, 0, &t),
            HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_sampler_sample(s, nullptr, logits.size(), nullptr, 0, &t), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_sampler_sample(s, logits.data(), 10, nullptr, 0, &t), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_sampler_sample(s, logits.data(), logits.size(), nullptr, 3, &t),
            HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_sampler_sample(s, logits.data(), logits.size(), nullptr, 0, nullptr),
            HY_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(hy_sampler_sample(s, logits.data(), logits.size(), nullptr, 0, &t), HY_OK);
  EXPECT_EQ(t, 77);
  EXPECT_EQ(hy_sampler_reset(nullptr, 1), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_sampler_reset(s, 1), HY_OK);
  hy_sampler_release(s);
  // Repetition penalty: a recent 77 loses to 78 (3 / 1.5 = 2 < 2.5).
  o.repetition_penalty = 1.5f;
  ASSERT_EQ(hy_sampler_create(m.m, &o, &s), HY_OK);
  int32_t hist[] = {5, 77, 77};
  ASSERT_EQ(hy_sampler_sample(s, logits.data(), logits.size(), hist, 3, &t), HY_OK);
  EXPECT_EQ(t, 78);
  hy_sampler_release(s);
  hy_sampler_release(nullptr);
}

TEST(Sampler, SeededAndFiltered) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  std::vector<float> logits(FAKE_VOCAB);
  for (int i = 0; i < FAKE_VOCAB; ++i)
    logits[i] = static_cast<float>(std::sin(i * 0.37) * 3.0);
  logits[hy_argmax(logits.data(), logits.size())] += 1.0f; // one clear favourite
  auto draw = [&](hy_sampler_options_t o, int n) {
    hy_sampler_t *s = nullptr;
    EXPECT_EQ(hy_sampler_create(m.m, &o, &s), HY_OK);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
      int32_t t;
      EXPECT_EQ(hy_sampler_sample(s, logits.data(), logits.size(), nullptr, 0, &t), HY_OK);
      out.push_back(t);
    }
    hy_sampler_release(s);
    return out;
  };
  hy_sampler_options_t o;
  hy_sampler_options_init(&o);
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.seed = 7;
  auto a = draw(o, 4000), b = draw(o, 4000);
  EXPECT_EQ(a, b); // same seed, same tokens
  o.seed = 8;
  EXPECT_NE(draw(o, 4000), a);
  // Unfiltered draws follow the softmax: check the most likely token's share.
  double z = 0, pmax = 0;
  int best = hy_argmax(logits.data(), logits.size());
  for (float l : logits)
    z += std::exp(l - logits[best]);
  pmax = 1.0 / z;
  double share = std::count(a.begin(), a.end(), best) / static_cast<double>(a.size());
  EXPECT_NEAR(share, pmax, 0.03) << "token " << best;
  // top-k 3: only the three best ever appear.
  std::vector<int32_t> order(FAKE_VOCAB);
  for (int i = 0; i < FAKE_VOCAB; ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](int x, int y) { return logits[x] > logits[y]; });
  o.top_k = 3;
  for (int32_t t : draw(o, 500))
    EXPECT_TRUE(t == order[0] || t == order[1] || t == order[2]) << t;
  // top-p: the kept head is the smallest with mass >= p.
  o.top_k = 0;
  o.top_p = 0.5f;
  std::vector<double> p(FAKE_VOCAB);
  for (int i = 0; i < FAKE_VOCAB; ++i)
    p[i] = std::exp(logits[i] - logits[best]) / z;
  double cum = 0;
  size_t head = 0;
  while (cum < 0.5)
    cum += p[order[head++]];
  for (int32_t t : draw(o, 500))
    EXPECT_LT(std::find(order.begin(), order.end(), t) - order.begin(),
              static_cast<long>(head));
  // min-p: nothing below min_p * p_max.
  o.top_p = 1.0f;
  o.min_p = 0.5f;
  for (int32_t t : draw(o, 500))
    EXPECT_GE(p[t], 0.5 * pmax - 1e-9);
  // temperature near zero is greedy.
  o.min_p = 0;
  o.temperature = 1e-4f;
  for (int32_t t : draw(o, 50))
    EXPECT_EQ(t, best);
}

// ---- generation ----------------------------------------------------------------------

namespace {
struct Collected {
  std::string text;
  std::vector<int32_t> tokens;
  int calls = 0;
  int stopAfter = -1;
  hy_context_t *cancelCtx = nullptr;
};
int32_t collect(void *user, int32_t token, const char *text, size_t len) {
  auto *c = static_cast<Collected *>(user);
  c->text.append(text, len);
  if (token >= 0)
    c->tokens.push_back(token);
  ++c->calls;
  if (c->cancelCtx && c->calls == 2)
    hy_context_cancel(c->cancelCtx);
  return c->stopAfter >= 0 && c->calls >= c->stopAfter;
}
} // namespace

TEST(Generate, ArgumentErrors) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  CtxPtr c;
  ASSERT_EQ(hy_context_create(m.m, &c.c), HY_OK);
  hy_generate_options_t o;
  hy_generate_options_init(&o);
  hy_generate_options_init(nullptr);
  hy_generate_result_t r;
  int32_t p[] = {FAKE_BOS};
  EXPECT_EQ(hy_generate(nullptr, p, 1, &o, &r), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_generate(c.c, nullptr, 1, &o, &r), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_generate(c.c, nullptr, 0, &o, &r), HY_ERR_INVALID_ARGUMENT); // nothing to continue
  o.max_tokens = -1;
  EXPECT_EQ(hy_generate(c.c, p, 1, &o, &r), HY_ERR_INVALID_ARGUMENT);
  hy_generate_options_init(&o);
  o.sampling.top_k = -3;
  EXPECT_EQ(hy_generate(c.c, p, 1, &o, &r), HY_ERR_INVALID_ARGUMENT);
  hy_generate_options_init(&o);
  o.n_stop_tokens = 2;
  EXPECT_EQ(hy_generate(c.c, p, 1, &o, &r), HY_ERR_INVALID_ARGUMENT);
  hy_generate_options_init(&o);
  const char *stops[] = {""};
  o.stop_strings = stops;
  o.n_stop_strings = 1;
  EXPECT_EQ(hy_generate(c.c, p, 1, &o, &r), HY_ERR_INVALID_ARGUMENT); // empty stop string
  std::string longStop(300, 'x');
  stops[0] = longStop.c_str();
  EXPECT_EQ(hy_generate(c.c, p, 1, &o, &r), HY_ERR_INVALID_ARGUMENT); // > max_stop_bytes
  stops[0] = "ok";
  EXPECT_EQ(hy_generate(c.c, p, 1, &o, &r), HY_ERR_UNSUPPORTED); // no tokenizer for text
  hy_generate_options_init(&o);
  o.tokens_capacity = 4;
  EXPECT_EQ(hy_generate(c.c, p, 1, &o, &r), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_context_position(c.c), 0);
}

TEST(Generate, GreedyStopsAtEosAndMatchesTheModel) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  CtxPtr c;
  ASSERT_EQ(hy_context_create(m.m, &c.c), HY_OK);
  hy_generate_options_t o;
  hy_generate_options_init(&o);
  o.sampling.temperature = 0;
  std::vector<int32_t> out(32);
  o.tokens_out = out.data();
  o.tokens_capacity = out.size();
  Collected col;
  o.on_token = collect;
  o.user_data = &col;
  std::vector<int32_t> prompt = {FAKE_BOS, 3, 4};
  hy_generate_result_t r;
  ASSERT_EQ(hy_generate(c.c, prompt.data(), prompt.size(), &o, &r), HY_OK) << hy_last_error();
  EXPECT_EQ(r.stop_reason, HY_STOP_EOG);
  EXPECT_EQ(r.stop_token, FAKE_EOS);
  EXPECT_EQ(r.n_prompt, 3);
  // The fake model favours EOS from position FAKE_EOS_AT - 1 on.
  auto expected = fakeGreedy(prompt, FAKE_EOS_AT - 3 + 1);
  ASSERT_EQ(expected.back(), FAKE_EOS);
  expected.pop_back();
  EXPECT_EQ(std::vector<int32_t>(out.begin(), out.begin() + r.n_generated), expected);
  EXPECT_EQ(col.tokens, expected);
  EXPECT_EQ(hy_context_position(c.c), static_cast<int32_t>(prompt.size() + expected.size()));
  EXPECT_GE(r.generate_seconds, 0.0);
}

TEST(Generate, MaxTokensStopTokensCallbackCancelAndContextFull) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  CtxPtr c;
  ASSERT_EQ(hy_context_create(m.m, &c.c), HY_OK);
  hy_generate_options_t o;
  hy_generate_options_init(&o);
  o.sampling.temperature = 0;
  hy_generate_result_t r;
  std::vector<int32_t> prompt = {FAKE_BOS, 3, 4};
  auto expected = fakeGreedy(prompt, 8);

  o.max_tokens = 3;
  ASSERT_EQ(hy_generate(c.c, prompt.data(), prompt.size(), &o, &r), HY_OK);
  EXPECT_EQ(r.stop_reason, HY_STOP_MAX_TOKENS);
  EXPECT_EQ(r.n_generated, 3);
  // The last token is not decoded: continuing means passing it back.
  EXPECT_EQ(hy_context_position(c.c), 3 + 2);

  hy_context_reset(c.c);
  o.max_tokens = 0;
  o.stop_tokens = &expected[2];
  o.n_stop_tokens = 1;
  ASSERT_EQ(hy_generate(c.c, prompt.data(), prompt.size(), &o, &r), HY_OK);
  EXPECT_EQ(r.stop_reason, HY_STOP_EOG);
  EXPECT_EQ(r.stop_token, expected[2]);
  EXPECT_EQ(r.n_generated, 2);

  hy_context_reset(c.c);
  o.n_stop_tokens = 0;
  Collected col;
  col.stopAfter = 2;
  o.on_token = collect;
  o.user_data = &col;
  ASSERT_EQ(hy_generate(c.c, prompt.data(), prompt.size(), &o, &r), HY_OK);
  EXPECT_EQ(r.stop_reason, HY_STOP_CALLBACK);
  EXPECT_EQ(r.n_generated, 2);

  hy_context_reset(c.c);
  Collected canceller;
  canceller.cancelCtx = c.c;
  o.user_data = &canceller;
  EXPECT_EQ(hy_generate(c.c, prompt.data(), prompt.size(), &o, &r), HY_ERR_CANCELLED);
  EXPECT_EQ(r.stop_reason, HY_STOP_CANCELLED);
  EXPECT_EQ(r.n_generated, 2);
  // The request was used up: the next call runs.
  o.on_token = nullptr;
  o.max_tokens = 1;
  EXPECT_EQ(hy_generate(c.c, nullptr, 0, &o, &r), HY_OK);

  // Context full: EOS disabled, the fake model runs out of its 16 positions.
  hy_context_reset(c.c);
  o.max_tokens = 0;
  o.stop_at_eog = 0;
  EXPECT_EQ(hy_generate(c.c, prompt.data(), prompt.size(), &o, &r), HY_ERR_CONTEXT_FULL);
  EXPECT_EQ(r.stop_reason, HY_STOP_CONTEXT_FULL);
  EXPECT_EQ(hy_context_position(c.c), FAKE_CTX);
  EXPECT_EQ(r.n_generated, FAKE_CTX - 3 + 1);
  EXPECT_EQ(hy_generate(c.c, prompt.data(), 1, &o, &r), HY_ERR_CONTEXT_FULL); // prompt does not fit
  EXPECT_EQ(r.stop_reason, HY_STOP_CONTEXT_FULL);
  EXPECT_EQ(r.n_prompt, 0);
}

TEST(Generate, SampledIsReproducible) {
  TempDir d;
  ModelPtr m;
  ASSERT_EQ(openFake(d, &m.m), HY_OK);
  auto run = [&](uint64_t seed) {
    CtxPtr c;
    EXPECT_EQ(hy_context_create(m.m, &c.c), HY_OK);
    hy_generate_options_t o;
    hy_generate_options_init(&o);
    o.sampling.temperature = 3.0f; // flat enough that the draws vary
    o.sampling.top_k = 0;
    o.sampling.min_p = 0;
    o.sampling.seed = seed;
    o.stop_at_eog = 0;
    o.max_tokens = 12;
    std::vector<int32_t> out(12);
    o.tokens_out = out.data();
    o.tokens_capacity = out.size();
    int32_t p[] = {FAKE_BOS};
    EXPECT_EQ(hy_generate(c.c, p, 1, &o, nullptr), HY_OK);
    return out;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

// ---- tokenizer ----------------------------------------------------------------------

class Tokenizer : public ::testing::Test {
protected:
  void SetUp() override {
    if (!exists(tinyTokenizer()))
      GTEST_SKIP() << "needs the tiny tokenizer (runtime_test_data fixture)";
    ASSERT_EQ(openFake(dir, &model.m, tinyTokenizer()), HY_OK) << hy_last_error();
  }
  std::vector<int32_t> tokenize(const std::string &s, uint32_t flags) {
    size_t n = 0;
    EXPECT_EQ(hy_tokenize(model.m, s.data(), s.size(), flags, nullptr, 0, &n),
              s.empty() && !(flags & HY_TOKENIZE_ADD_BOS) ? HY_OK : HY_ERR_BUFFER_TOO_SMALL);
    std::vector<int32_t> out(n);
    size_t n2 = 0;
    EXPECT_EQ(hy_tokenize(model.m, s.data(), s.size(), flags, out.data(), out.size(), &n2), HY_OK);
    EXPECT_EQ(n, n2);
    return out;
  }
  std::string detokenize(const std::vector<int32_t> &t, uint32_t flags = 0) {
    size_t len = 0;
    hy_detokenize(model.m, t.data(), t.size(), flags, nullptr, 0, &len);
    std::string s(len + 1, '\0');
    EXPECT_EQ(hy_detokenize(model.m, t.data(), t.size(), flags, &s[0], s.size(), &len), HY_OK);
    s.resize(len);
    return s;
  }
  TempDir dir;
  ModelPtr model;
};

TEST_F(Tokenizer, Errors) {
  int32_t ids[8];
  size_t n;
  EXPECT_EQ(hy_tokenize(nullptr, "a", 1, 0, ids, 8, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_tokenize(model.m, nullptr, 1, 0, ids, 8, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_tokenize(model.m, "a", 1, 0, nullptr, 8, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_tokenize(model.m, "a", 1, 0, ids, 8, nullptr), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_tokenize(model.m, "a", 1, 0x80, ids, 8, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_tokenize(model.m, "hello world", 11, 0, ids, 1, &n), HY_ERR_BUFFER_TOO_SMALL);
  EXPECT_GT(n, 1u);
  char text[4];
  size_t len;
  int32_t bad[] = {3, -1};
  EXPECT_EQ(hy_detokenize(nullptr, ids, 1, 0, text, 4, &len), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_detokenize(model.m, bad, 2, 0, text, 4, &len), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_detokenize(model.m, nullptr, 2, 0, text, 4, &len), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_detokenize(model.m, ids, 0, 0, nullptr, 4, &len), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_detokenize(model.m, ids, 0, 0x10, text, 4, &len), HY_ERR_INVALID_ARGUMENT);
  int32_t abc[] = {'a', 'b', 'c', 'd'}; // byte tokens are ids 0-255 in byte order
  EXPECT_EQ(hy_detokenize(model.m, abc, 4, 0, text, 4, &len), HY_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 4u); // needs 5 with the NUL
  const char *b;
  EXPECT_EQ(hy_token_bytes(model.m, FAKE_VOCAB, &b, &len), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_token_bytes(model.m, 1, nullptr, &len), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_token_bytes(nullptr, 1, &b, &len), HY_ERR_INVALID_ARGUMENT);
  int32_t id;
  EXPECT_EQ(hy_token_find(model.m, "no such token here", 18, &id), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_token_find(model.m, "a", 1, nullptr), HY_ERR_INVALID_ARGUMENT);
  // A model without a tokenizer file.
  TempDir d2;
  ModelPtr bare;
  ASSERT_EQ(openFake(d2, &bare.m), HY_OK);
  EXPECT_EQ(hy_tokenize(bare.m, "a", 1, 0, ids, 8, &n), HY_ERR_UNSUPPORTED);
  EXPECT_EQ(hy_detokenize(bare.m, ids, 0, 0, text, 4, &len), HY_ERR_UNSUPPORTED);
  EXPECT_EQ(hy_token_bytes(bare.m, 1, &b, &len), HY_ERR_UNSUPPORTED);
  EXPECT_EQ(hy_token_find(bare.m, "a", 1, &id), HY_ERR_UNSUPPORTED);
}

TEST_F(Tokenizer, SpecialTokensBosAndRoundTrip) {
  int32_t user, assistant;
  const std::string userText = "<｜hy_User｜>";
  ASSERT_EQ(hy_token_find(model.m, userText.data(), userText.size(), &user), HY_OK);
  ASSERT_EQ(hy_token_find(model.m, "<｜hy_Assistant｜>", std::strlen("<｜hy_Assistant｜>"), &assistant),
            HY_OK);
  std::string s = "<｜hy_User｜>Hello, world! 你好 👋<｜hy_Assistant｜>";
  auto special = tokenize(s, HY_TOKENIZE_PARSE_SPECIAL);
  EXPECT_EQ(special.front(), user);
  EXPECT_EQ(special.back(), assistant);
  auto plain = tokenize(s, 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), user), 0); // typed text stays text
  EXPECT_GT(plain.size(), special.size());
  EXPECT_EQ(detokenize(special), s);
  EXPECT_EQ(detokenize(plain), s);
  EXPECT_EQ(detokenize(special, HY_DETOKENIZE_SKIP_SPECIAL), "Hello, world! 你好 👋");
  auto bos = tokenize("hi", HY_TOKENIZE_ADD_BOS);
  EXPECT_EQ(bos.front(), FAKE_BOS);
  EXPECT_TRUE(tokenize("", 0).empty());
  // Not UTF-8 at all: still round-trips byte for byte.
  std::string junk = "\xff\xfe\x80 abc \xe4\xbd";
  EXPECT_EQ(detokenize(tokenize(junk, 0)), junk);
  const char *b;
  size_t len;
  ASSERT_EQ(hy_token_bytes(model.m, user, &b, &len), HY_OK);
  EXPECT_EQ(std::string(b, len), userText);
}

TEST_F(Tokenizer, StopStringsAndStreaming) {
  // Generate once freely, then stop at a string from the middle of that text.
  CtxPtr c;
  ASSERT_EQ(hy_context_create(model.m, &c.c), HY_OK);
  hy_generate_options_t o;
  hy_generate_options_init(&o);
  o.sampling.temperature = 0;
  Collected all;
  o.on_token = collect;
  o.user_data = &all;
  int32_t prompt[] = {FAKE_BOS};
  hy_generate_result_t r;
  ASSERT_EQ(hy_generate(c.c, prompt, 1, &o, &r), HY_OK);
  // Streamed text == detokenized tokens (bytes held back are flushed at the end).
  size_t len = 0;
  std::string text(4096, '\0');
  ASSERT_EQ(hy_detokenize(model.m, all.tokens.data(), all.tokens.size(), 0, &text[0], text.size(),
                          &len),
            HY_OK);
  text.resize(len);
  EXPECT_EQ(all.text, text);
  ASSERT_GT(text.size(), 6u);
  std::string stop = text.substr(text.size() / 2, 3);
  size_t at = text.find(stop);
  hy_context_reset(c.c);
  Collected cut;
  o.user_data = &cut;
  const char *stops[] = {"never-appears", stop.c_str()};
  o.stop_strings = stops;
  o.n_stop_strings = 2;
  ASSERT_EQ(hy_generate(c.c, prompt, 1, &o, &r), HY_OK);
  EXPECT_EQ(r.stop_reason, HY_STOP_STRING);
  EXPECT_EQ(cut.text, text.substr(0, at));
}

// ---- chat template ----------------------------------------------------------------------

TEST_F(Tokenizer, ChatTemplate) {
  hy_chat_options_t co;
  hy_chat_options_init(&co);
  hy_chat_options_init(nullptr);
  hy_chat_message_t msgs[] = {{HY_ROLE_SYSTEM, "Be brief."},
                              {HY_ROLE_USER, "Hi"},
                              {HY_ROLE_ASSISTANT, "<think>\nhmm\n</think>\nHello!"},
                              {HY_ROLE_USER, "/no_think Sum 2+2"}};
  auto format = [&](const hy_chat_message_t *m, size_t n, const hy_chat_options_t *opts) {
    size_t len = 0;
    EXPECT_EQ(hy_chat_format(model.m, m, n, opts, nullptr, 0, &len), HY_ERR_BUFFER_TOO_SMALL);
    std::string s(len + 1, '\0');
    EXPECT_EQ(hy_chat_format(model.m, m, n, opts, &s[0], s.size(), &len), HY_OK);
    s.resize(len);
    return s;
  };
  const std::string bos = "<｜hy_begin▁of▁sentence｜>", user = "<｜hy_User｜>",
                    asst = "<｜hy_Assistant｜>", eos = "<｜hy_end▁of▁sentence｜>",
                    sysEnd = "<｜hy_place▁holder▁no▁3｜>", noThink = "<think>\n\n</think>\n";
  // Auto: the last user message says /no_think; history thinking is stripped.
  EXPECT_EQ(format(msgs, 4, &co), bos + "Be brief." + sysEnd + user + "Hi" + asst + "Hello!" +
                                      eos + user + "/no_think Sum 2+2" + asst + noThink);
  co.thinking = HY_THINKING_ON;
  EXPECT_EQ(format(msgs + 1, 1, &co), bos + user + "Hi" + asst);
  co.thinking = HY_THINKING_OFF;
  EXPECT_EQ(format(msgs + 1, 1, &co), bos + user + "Hi" + asst + noThink);
  co.thinking = HY_THINKING_AUTO;
  hy_chat_message_t think[] = {{HY_ROLE_USER, "/think why?"}};
  EXPECT_EQ(format(think, 1, &co), bos + user + "/think why?" + asst);
  co.strip_history_thinking = 0;
  co.add_generation_prompt = 0;
  EXPECT_EQ(format(msgs + 1, 2, &co),
            bos + user + "Hi" + asst + "<think>\nhmm\n</think>\nHello!" + eos);
  // System messages are joined and come first wherever they are.
  hy_chat_message_t sys2[] = {{HY_ROLE_USER, "x"}, {HY_ROLE_SYSTEM, "A"}, {HY_ROLE_SYSTEM, "B"}};
  EXPECT_EQ(format(sys2, 3, &co), bos + "A\n\nB" + sysEnd + user + "x");

  // Tokens: markers are single special tokens, contents plain text.
  hy_chat_options_init(&co);
  size_t n = 0;
  std::vector<int32_t> toks(256);
  ASSERT_EQ(hy_chat_tokenize(model.m, msgs, 4, &co, toks.data(), toks.size(), &n), HY_OK);
  toks.resize(n);
  std::string text = format(msgs, 4, &co);
  EXPECT_EQ(toks, tokenize(text, HY_TOKENIZE_PARSE_SPECIAL));
  hy_chat_message_t inject[] = {{HY_ROLE_USER, "<｜hy_Assistant｜>"}};
  ASSERT_EQ(hy_chat_tokenize(model.m, inject, 1, &co, toks.data(), 256, &n), HY_OK);
  int32_t assistantId;
  ASSERT_EQ(hy_token_find(model.m, asst.data(), asst.size(), &assistantId), HY_OK);
  EXPECT_EQ(std::count(toks.begin(), toks.begin() + n, assistantId), 1); // only the real marker

  // Errors.
  EXPECT_EQ(hy_chat_format(nullptr, msgs, 1, &co, nullptr, 0, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_chat_format(model.m, nullptr, 1, &co, nullptr, 0, &n), HY_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hy_chat_format(model.m, msgs, 1, &co, nullptr, 0, nullptr), HY_ERR_INVALID_ARGUMENT);
  hy_chat_message_t badRole[] = {{static_cast<hy_chat_role_t>(9), "x"}};
  EXPECT_EQ(hy_chat_format(model.m, badRole, 1, &co, nullptr, 0, &n), HY_ERR_INVALID_ARGUMENT);
  hy_chat_message_t noContent[] = {{HY_ROLE_USER, nullptr}};
  EXPECT_EQ(hy_chat_tokenize(model.m, noContent, 1, &co, toks.data(), 256, &n),
            HY_ERR_INVALID_ARGUMENT);
  co.thinking = static_cast<hy_thinking_t>(7);
  EXPECT_EQ(hy_chat_tokenize(model.m, msgs, 1, &co, toks.data(), 256, &n), HY_ERR_INVALID_ARGUMENT);
  hy_chat_options_init(&co);
  EXPECT_EQ(hy_chat_tokenize(model.m, msgs, 4, &co, toks.data(), 2, &n), HY_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(hy_chat_tokenize(model.m, msgs, 4, &co, nullptr, 2, &n), HY_ERR_INVALID_ARGUMENT);
  TempDir d2;
  ModelPtr bare;
  ASSERT_EQ(openFake(d2, &bare.m), HY_OK);
  EXPECT_EQ(hy_chat_tokenize(bare.m, msgs, 1, &co, toks.data(), 256, &n), HY_ERR_UNSUPPORTED);
  // The end-of-turn marker ends generation.
  hy_model_info_t info;
  ASSERT_EQ(hy_model_info(model.m, &info), HY_OK);
  EXPECT_TRUE(info.has_chat);
  int32_t eosId;
  ASSERT_EQ(hy_token_find(model.m, eos.data(), eos.size(), &eosId), HY_OK);
  EXPECT_NE(std::find(info.eog_ids, info.eog_ids + info.n_eog, eosId), info.eog_ids + info.n_eog);
}

// ---- thread pool -----------------------------------------------------------------------

TEST(Pool, RunsEveryTaskOnceNestedAndConcurrent) {
  hy_pool_t *pool = nullptr;
  ASSERT_EQ(hy_pool_create(0, &pool), HY_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(hy_pool_create(3, &pool), HY_OK);
  EXPECT_EQ(hy_pool_threads(pool), 3);
  struct Job {
    std::vector<std::atomic<int>> hits;
    hy_pool_t *pool;
    explicit Job(size_t n) : hits(n) {}
  };
  auto task = [](void *ctx, int32_t i) -> int32_t {
    static_cast<Job *>(ctx)->hits[i]++;
    return 0;
  };
  for (int round = 0; round < 200; ++round) {
    Job job(97);
    ASSERT_EQ(hy_pool_parallel_for(pool, task, &job, 97), 0);
    for (auto &h : job.hits)
      ASSERT_EQ(h.load(), 1);
  }
  // Errors propagate; a nested loop (from inside a task) runs inline.
  auto failing = [](void *, int32_t i) -> int32_t { return i == 5 ? 9 : 0; };
  EXPECT_EQ(hy_pool_parallel_for(pool, failing, nullptr, 8), 9);
  auto nested = [](void *ctx, int32_t) -> int32_t {
    auto *j = static_cast<Job *>(ctx);
    Job inner(4);
    auto innerTask = [](void *c, int32_t k) -> int32_t {
      static_cast<Job *>(c)->hits[k]++;
      return 0;
    };
    int32_t rc = hy_pool_parallel_for(j->pool, innerTask, &inner, 4);
    for (auto &h : inner.hits)
      if (h.load() != 1)
        return 1;
    return rc;
  };
  Job outer(6);
  outer.pool = pool;
  EXPECT_EQ(hy_pool_parallel_for(pool, nested, &outer, 6), 0);
  // Two threads submitting at once: both complete, each task once.
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int round = 0; round < 100; ++round) {
        Job job(33);
        if (hy_pool_parallel_for(pool, task, &job, 33) != 0)
          bad++;
        for (auto &h : job.hits)
          if (h.load() != 1)
            bad++;
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(hy_pool_parallel_for(pool, task, nullptr, 0), 0);
  hy_pool_release(pool);
  hy_pool_release(nullptr);
}

// A sleeping thread is woken on the slow path only (the pool skips the mutex
// when nobody sleeps): a worker asleep before a loop must still join it, and
// a submitter asleep waiting for a worker's long task must still be woken.
TEST(Pool, SleepingThreadsAreWoken) {
  hy_pool_t *pool = nullptr;
  ASSERT_EQ(hy_pool_create(2, &pool), HY_OK);
  struct Job {
    std::thread::id submitter = std::this_thread::get_id();
    std::atomic<int> byWorker{0}, ran{0};
  };
  // Spinning lasts well under a millisecond: after 100 ms the worker sleeps.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto slow = [](void *ctx, int32_t) -> int32_t {
    auto *j = static_cast<Job *>(ctx);
    if (std::this_thread::get_id() != j->submitter)
      j->byWorker++;
    j->ran++;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return 0;
  };
  Job wake;
  ASSERT_EQ(hy_pool_parallel_for(pool, slow, &wake, 100), 0);
  EXPECT_EQ(wake.ran.load(), 100);
  EXPECT_GT(wake.byWorker.load(), 0) << "the sleeping worker was never woken";
  // The submitter's own task is short and the worker's takes 100 ms: the
  // submitter goes to sleep waiting for it and must be woken (a lost wake-up
  // hangs here, and ctest's timeout reports it).
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto uneven = [](void *ctx, int32_t i) -> int32_t {
      auto *j = static_cast<Job *>(ctx);
      j->ran++;
      std::this_thread::sleep_for(std::chrono::milliseconds(i == 0 ? 5 : 100));
      return 0;
    };
    Job wait;
    ASSERT_EQ(hy_pool_parallel_for(pool, uneven, &wait, 2), 0);
    EXPECT_EQ(wait.ran.load(), 2);
  }
  hy_pool_release(pool);
}

// Prefetch hints: idle threads request the front of their share of the
// hinted bytes, at most the cap each; no cap, no hint, or one thread: none.
TEST(Pool, IdleThreadsPrefetchTheHintedBytes) {
  std::vector<uint8_t> weights(1 << 20, 1);
  auto noop = [](void *, int32_t) -> int32_t { return 0; };
  // Loops keep the worker spinning (idle) until it has done its share.
  auto settle = [&](hy_pool_t *pool, long want, int tries = 5000) {
    for (int i = 0; i < tries && hy_pool_prefetched_lines(pool) < want; ++i) {
      hy_pool_parallel_for(pool, noop, nullptr, 2);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return hy_pool_prefetched_lines(pool);
  };
  hy_pool_t *pool = nullptr;
  ASSERT_EQ(hy_pool_create(2, &pool), HY_OK);
  EXPECT_EQ(hy_pool_prefetched_lines(pool), 0);
  hy_pool_set_prefetch_cap(pool, 64 << 10);
  hy_pool_prefetch(pool, weights.data(), (int64_t)weights.size());
  // The worker's share is the second half; 64 KiB of it is 1024 lines. The
  // submitter may add up to as many while it waits for the worker.
  long lines = settle(pool, 1024);
  EXPECT_GE(lines, 1024);
  EXPECT_LE(lines, 2048);
  // A hint smaller than the cap: its share, half of 32 KiB (256 lines).
  hy_pool_prefetch(pool, weights.data(), 32 << 10);
  long more = settle(pool, lines + 256) - lines;
  EXPECT_GE(more, 256);
  EXPECT_LE(more, 512);
  lines += more;
  // No hint (NULL or empty) and a zero cap: nothing more.
  hy_pool_prefetch(pool, nullptr, 1 << 20);
  EXPECT_EQ(settle(pool, lines + 1, 200), lines);
  hy_pool_prefetch(pool, weights.data(), 0);
  EXPECT_EQ(settle(pool, lines + 1, 200), lines);
  hy_pool_set_prefetch_cap(pool, 0);
  hy_pool_prefetch(pool, weights.data(), (int64_t)weights.size());
  EXPECT_EQ(settle(pool, lines + 1, 200), lines);
  hy_pool_release(pool);
  // One thread: nobody is idle, hints are ignored.
  ASSERT_EQ(hy_pool_create(1, &pool), HY_OK);
  hy_pool_prefetch(pool, weights.data(), (int64_t)weights.size());
  EXPECT_EQ(settle(pool, 1, 200), 0);
  hy_pool_release(pool);
  hy_pool_prefetch(nullptr, weights.data(), 64);
}

TEST(Pool, FakeModelSameResultsWithOneAndManyThreads) {
  TempDir d;
  auto run = [&](int32_t threads) {
    ModelPtr m;
    EXPECT_EQ(openFake(d, &m.m, "", false, threads), HY_OK);
    hy_model_info_t info;
    hy_model_info(m.m, &info);
    EXPECT_EQ(info.n_threads, threads);
    EXPECT_TRUE(info.has_parallel);
    CtxPtr c;
    EXPECT_EQ(hy_context_create(m.m, &c.c), HY_OK);
    std::vector<float> all;
    std::vector<float> logits(FAKE_VOCAB);
    for (int i = 0; i < FAKE_CTX; ++i) {
      EXPECT_EQ(hy_decode(c.c, 10 + i, logits.data(), logits.size()), HY_OK);
      all.insert(all.end(), logits.begin(), logits.end());
    }
    // The library's loops went through the runtime's pool (inline with 1).
    EXPECT_EQ(hy_pool_jobs(m.m->pool) > 0, threads > 1);
    return all;
  };
  auto one = run(1), two = run(2), four = run(4);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, four);
}

// ---- the tiny HY model compiled by hyc ---------------------------------------------------

class CompiledModel : public ::testing::Test {
protected:
  void SetUp() override {
    if (!exists(tinyModelDir() + "/hy_model.name"))
      GTEST_SKIP() << "needs the tiny model compiled by hyc (runtime_test_data fixture)";
  }
  static hy_model_t *open(int32_t threads, int32_t noMmap = 0) {
    hy_model_options_t o;
    hy_model_options_init(&o);
    o.n_threads = threads;
    o.no_mmap = noMmap;
    hy_model_t *m = nullptr;
    EXPECT_EQ(hy_model_open_dir_ex(tinyModelDir().c_str(), &o, &m), HY_OK) << hy_last_error();
    return m;
  }
  /// Greedy generation from a chat prompt: tokens and every step's logits.
  static void greedy(hy_model_t *m, int steps, std::vector<int32_t> &tokens,
                     std::vector<float> *logits = nullptr) {
    CtxPtr c;
    ASSERT_EQ(hy_context_create(m, &c.c), HY_OK);
    hy_chat_message_t msg[] = {{HY_ROLE_USER, "Write about the license, please."}};
    std::vector<int32_t> prompt(128);
    size_t n = 0;
    ASSERT_EQ(hy_chat_tokenize(m, msg, 1, nullptr, prompt.data(), prompt.size(), &n), HY_OK);
    prompt.resize(n);
    std::vector<float> l(512);
    ASSERT_EQ(hy_prefill(c.c, prompt.data(), prompt.size(), l.data(), l.size()), HY_OK);
    tokens.clear();
    for (int i = 0; i < steps; ++i) {
      if (logits)
        logits->insert(logits->end(), l.begin(), l.end());
      int32_t t = hy_argmax(l.data(), l.size());
      tokens.push_back(t);
      ASSERT_EQ(hy_decode(c.c, t, l.data(), l.size()), HY_OK);
    }
  }
};

TEST_F(CompiledModel, GreedyIsIdenticalAcrossRunsAndThreadCounts) {
  ModelPtr m1;
  m1.m = open(1);
  ASSERT_NE(m1.m, nullptr);
  hy_model_info_t info;
  ASSERT_EQ(hy_model_info(m1.m, &info), HY_OK);
  EXPECT_TRUE(info.has_tokenizer);
  EXPECT_TRUE(info.has_chat);
  std::vector<int32_t> a, b, c;
  std::vector<float> la, lb, lc;
  greedy(m1.m, 40, a, &la);
  greedy(m1.m, 40, b, &lb);
  hy_model_release(m1.m);
  m1.m = nullptr;
  ModelPtr m2;
  m2.m = open(2);
  ASSERT_NE(m2.m, nullptr);
  ASSERT_EQ(hy_model_info(m2.m, &info), HY_OK);
  RecordProperty("kernels_on_runtime_pool", info.has_parallel);
  greedy(m2.m, 40, c, &lc);
  if (info.has_parallel) // the library exports hy_<name>_set_parallel
    EXPECT_GT(hy_pool_jobs(m2.m->pool), 0);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(la, lb); // bitwise
  EXPECT_EQ(la, lc);
  // hy_generate's greedy path agrees with the hand-written loop.
  CtxPtr ctx;
  ASSERT_EQ(hy_context_create(m2.m, &ctx.c), HY_OK);
  hy_chat_message_t msg[] = {{HY_ROLE_USER, "Write about the license, please."}};
  std::vector<int32_t> prompt(128), out(40);
  size_t n = 0;
  ASSERT_EQ(hy_chat_tokenize(m2.m, msg, 1, nullptr, prompt.data(), prompt.size(), &n), HY_OK);
  hy_generate_options_t o;
  hy_generate_options_init(&o);
  o.sampling.temperature = 0;
  o.stop_at_eog = 0;
  o.max_tokens = 40;
  o.tokens_out = out.data();
  o.tokens_capacity = out.size();
  hy_generate_result_t r;
  ASSERT_EQ(hy_generate(ctx.c, prompt.data(), n, &o, &r), HY_OK) << hy_last_error();
  EXPECT_EQ(out, a);
}

// no_mmap reads the weights into anonymous (huge-page advised) memory: the
// same bytes, so bitwise the same logits.
TEST_F(CompiledModel, NoMmapGivesTheSameLogits) {
  ModelPtr mapped, read;
  mapped.m = open(2, 0);
  read.m = open(2, 1);
  ASSERT_NE(mapped.m, nullptr);
  ASSERT_NE(read.m, nullptr);
  EXPECT_NE(mapped.m->weights, read.m->weights);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(read.m->weights) % (2u << 20), 0u);
  std::vector<int32_t> a, b;
  std::vector<float> la, lb;
  greedy(mapped.m, 12, a, &la);
  greedy(read.m, 12, b, &lb);
  EXPECT_EQ(a, b);
  EXPECT_EQ(la, lb); // bitwise
}

TEST_F(CompiledModel, TwoContextsConcurrentlyEqualSequential) {
  ModelPtr m;
  m.m = open(2);
  ASSERT_NE(m.m, nullptr);
  std::vector<int32_t> seqA, seqB;
  std::vector<float> seqLA, seqLB;
  // Sequential reference: context A (greedy, from the chat prompt), then B
  // (a different prompt, sampled).
  auto runA = [&](std::vector<int32_t> &t, std::vector<float> &l) { greedy(m.m, 48, t, &l); };
  auto runB = [&](std::vector<int32_t> &t, std::vector<float> &l) {
    CtxPtr c;
    ASSERT_EQ(hy_context_create(m.m, &c.c), HY_OK);
    std::vector<int32_t> prompt(64);
    size_t n = 0;
    const char *p = "Apache License, Version 2.0";
    ASSERT_EQ(hy_tokenize(m.m, p, std::strlen(p), HY_TOKENIZE_ADD_BOS, prompt.data(),
                          prompt.size(), &n),
              HY_OK);
    hy_generate_options_t o;
    hy_generate_options_init(&o);
    o.sampling.temperature = 1.0f;
    o.sampling.seed = 99;
    o.stop_at_eog = 0;
    o.max_tokens = 48;
    t.assign(48, -1);
    o.tokens_out = t.data();
    o.tokens_capacity = t.size();
    ASSERT_EQ(hy_generate(c.c, prompt.data(), n, &o, nullptr), HY_OK);
    const float *lg;
    size_t nl;
    ASSERT_EQ(hy_context_logits(c.c, &lg, &nl), HY_OK);
    l.assign(lg, lg + nl);
  };
  runA(seqA, seqLA);
  runB(seqB, seqLB);
  std::vector<int32_t> parA, parB;
  std::vector<float> parLA, parLB;
  std::thread ta([&] { runA(parA, parLA); });
  std::thread tb([&] { runB(parB, parLB); });
  ta.join();
  tb.join();
  EXPECT_EQ(parA, seqA);
  EXPECT_EQ(parB, seqB);
  EXPECT_EQ(parLA, seqLA);
  EXPECT_EQ(parLB, seqLB);
}

TEST_F(CompiledModel, PrefillMatchesDecodeLoop) {
  ModelPtr m;
  m.m = open(1);
  ASSERT_NE(m.m, nullptr);
  std::vector<int32_t> prompt(64);
  size_t n = 0;
  const char *p = "GNU GENERAL PUBLIC LICENSE Version 3";
  ASSERT_EQ(hy_tokenize(m.m, p, std::strlen(p), HY_TOKENIZE_ADD_BOS, prompt.data(), prompt.size(),
                        &n),
            HY_OK);
  CtxPtr a, b;
  ASSERT_EQ(hy_context_create(m.m, &a.c), HY_OK);
  ASSERT_EQ(hy_context_create(m.m, &b.c), HY_OK);
  std::vector<float> la(512), lb(512);
  ASSERT_EQ(hy_prefill(a.c, prompt.data(), n, la.data(), la.size()), HY_OK);
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(hy_decode(b.c, prompt[i], lb.data(), lb.size()), HY_OK);
  for (size_t i = 0; i < la.size(); ++i)
    ASSERT_NEAR(la[i], lb[i], 1e-4f) << i;
  EXPECT_EQ(hy_argmax(la.data(), la.size()), hy_argmax(lb.data(), lb.size()));
}
