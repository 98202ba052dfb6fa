//===- Run.cpp - `hyc run`: greedy decoding with a compiled model --------===//
#include "Driver.h"

#include "hy/hy.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace hyc::driver;

namespace {
bool parseTokens(const std::string &text, std::vector<int32_t> &out,
                 std::string &error) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                      : comma - start);
    char *end = nullptr;
    long v = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 0 || v > INT32_MAX) {
      error = "--tokens expects comma-separated token ids, got '" + text + "'";
      return false;
    }
    out.push_back(static_cast<int32_t>(v));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return true;
}

struct ModelDeleter {
  void operator()(hy_model_t *m) const { hy_model_release(m); }
};
struct ContextDeleter {
  void operator()(hy_context_t *c) const { hy_context_release(c); }
};
} // namespace

int hyc::driver::runMain(const std::vector<std::string> &args) {
  const std::string cmd = "run";
  std::string dir, dumpPrefix, error;
  std::vector<int32_t> prompt;
  long long steps = 16;
  bool quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "-n" || a == "--tokens" || a == "--dump-logits") {
      if (i + 1 >= args.size())
        return fail(cmd, "option " + a + " needs a value");
      const std::string &v = args[++i];
      if (a == "-n") {
        if (!parsePositive(a, v, 1 << 20, steps, error))
          return fail(cmd, error);
      } else if (a == "--tokens") {
        if (!parseTokens(v, prompt, error))
          return fail(cmd, error);
      } else {
        dumpPrefix = v;
      }
    } else if (a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      return fail(cmd, "unknown option '" + a + "' (see 'hyc help')");
    } else if (dir.empty()) {
      dir = a;
    } else {
      return fail(cmd, "unexpected argument '" + a + "'");
    }
  }
  if (dir.empty())
    return fail(cmd, "no library directory given (usage: hyc run DIR)");

  hy_model_t *rawModel = nullptr;
  if (hy_model_open_dir(dir.c_str(), &rawModel) != HY_OK)
    return fail(cmd, hy_last_error());
  std::unique_ptr<hy_model_t, ModelDeleter> model(rawModel);
  const hy_model_desc_t *desc = hy_model_desc(model.get());
  hy_context_t *rawCtx = nullptr;
  if (hy_context_create(model.get(), &rawCtx) != HY_OK)
    return fail(cmd, hy_last_error());
  std::unique_ptr<hy_context_t, ContextDeleter> ctx(rawCtx);

  if (prompt.empty()) {
    if (desc->bos_id < 0)
      return fail(cmd, "the model has no BOS token: give a prompt with --tokens");
    prompt.push_back(static_cast<int32_t>(desc->bos_id));
  }
  if (static_cast<long long>(prompt.size()) + steps > desc->n_ctx)
    return fail(cmd, std::to_string(prompt.size()) + " prompt tokens + " +
                         std::to_string(steps) + " steps exceed the context of " +
                         std::to_string(desc->n_ctx) + " (compile with --context)");

  FILE *logitsOut = nullptr, *tokensOut = nullptr;
  if (!dumpPrefix.empty()) {
    logitsOut = std::fopen((dumpPrefix + ".logits").c_str(), "wb");
    tokensOut = std::fopen((dumpPrefix + ".tokens").c_str(), "w");
    if (!logitsOut || !tokensOut)
      return fail(cmd, "cannot write '" + dumpPrefix + ".logits/.tokens'");
  }
  std::vector<float> logits(static_cast<size_t>(desc->n_vocab));
  std::vector<int32_t> generated;
  int32_t next = -1;
  auto t0 = std::chrono::steady_clock::now();
  double promptSeconds = 0;
  size_t total = prompt.size() + static_cast<size_t>(steps);
  for (size_t i = 0; i < total; ++i) {
    int32_t token = i < prompt.size() ? prompt[i] : next;
    if (hy_decode(ctx.get(), token, logits.data(), logits.size()) != HY_OK)
      return fail(cmd, hy_last_error());
    if (logitsOut) {
      std::fwrite(logits.data(), sizeof(float), logits.size(), logitsOut);
      std::fprintf(tokensOut, "%s%d", i ? " " : "", token);
    }
    next = hy_argmax(logits.data(), logits.size());
    if (i >= prompt.size())
      generated.push_back(token);
    if (i + 1 == prompt.size())
      promptSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  double totalSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (logitsOut) {
    std::fputc('\n', tokensOut);
    std::fclose(logitsOut);
    std::fclose(tokensOut);
  }
  // The prompt is followed by `steps` greedy tokens, each fed back in (the
  // same sequence tests/e2e/reference.py decodes).
  if (!quiet) {
    std::printf("tokens:");
    for (int32_t t : generated)
      std::printf(" %d", t);
    std::printf("\n");
  }
  double genSeconds = totalSeconds - promptSeconds;
  std::fprintf(stderr,
               "hyc run: %zu prompt tokens in %.3f s, %lld generated in %.3f s (%.1f tokens/s)\n",
               prompt.size(), promptSeconds, steps, genSeconds,
               genSeconds > 0 ? static_cast<double>(steps) / genSeconds : 0.0);
  return 0;
}
