//===- Run.cpp - `hyc run`: generate text or chat with a compiled model ---===//
//
//   hyc run DIR -p PROMPT [--chat] [--no-think|--think] [--system TEXT]
//           [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
//           [--repeat-penalty R] [--seed S] [--threads N] [--quiet]
//   hyc run DIR [--chat] ...     interactive chat (stdin a terminal, or --chat)
//   hyc run DIR --tokens ID,... [-n N] [--dump-logits PREFIX] [--quiet]
//                                greedy token ids (also without -p when stdin is
//                                not a terminal: from BOS), for tests
//===----------------------------------------------------------------------===//
#include "Driver.h"

#include "hy/hy.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

using namespace hyc::driver;

namespace {
const char *kRunUsage =
    "usage: hyc run DIR [-p PROMPT] [options]\n"
    "  -p PROMPT           generate after PROMPT (BOS + prompt, or a chat turn with --chat)\n"
    "                      without -p: interactive chat when stdin is a terminal (or with\n"
    "                      --chat: one user turn per stdin line); else greedy ids from BOS\n"
    "  --chat              use the model's chat template\n"
    "  --no-think          chat without thinking (empty think block); --think forces it\n"
    "  --system TEXT       chat system prompt\n"
    "  -n N                tokens to generate (default 256; 16 for token ids)\n"
    "  --temp T            temperature (default 0: greedy)\n"
    "  --top-k K --top-p P --min-p P --repeat-penalty R   sampling filters\n"
    "  --seed S            sampling seed (default 0)\n"
    "  --threads N         kernel threads (default: all CPUs)\n"
    "  --tokens ID,...     prompt as token ids; prints the greedy ids\n"
    "  --dump-logits PREFIX  with token ids: write PREFIX.logits / PREFIX.tokens\n"
    "  --quiet             no generated text / ids on stdout\n"
    "  --no-mmap           read the weights into huge-page memory instead of mapping the\n"
    "                      file (faster decode; hy_model_options_t.no_mmap)\n";

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

bool parseFloat(const std::string &flag, const std::string &text, double lo,
                double hi, float &out, std::string &error) {
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= lo && v <= hi)) {
    char range[64];
    std::snprintf(range, sizeof range, "[%g, %g]", lo, hi);
    error = flag + " expects a number in " + range + ", got '" + text + "'";
    return false;
  }
  out = static_cast<float>(v);
  return true;
}

struct ModelDeleter {
  void operator()(hy_model_t *m) const { hy_model_release(m); }
};
struct ContextDeleter {
  void operator()(hy_context_t *c) const { hy_context_release(c); }
};

struct Options {
  std::string dir, prompt, system, dumpPrefix;
  bool havePrompt = false, chat = false, quiet = false, noMmap = false;
  hy_thinking_t thinking = HY_THINKING_AUTO;
  std::vector<int32_t> tokens;
  long long steps = -1, threads = 0;
  hy_sampler_options_t sampling;
};

/// The context being generated into, for Ctrl-C (cancel is a lock-free store).
hy_context_t *volatile gGenerating = nullptr;
extern "C" void onInterrupt(int) {
  hy_context_t *ctx = gGenerating;
  if (ctx) {
    hy_context_cancel(ctx);
  } else {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}

struct Stream {
  bool print = true;
  std::string text;
};
int32_t onToken(void *user, int32_t, const char *text, size_t len) {
  auto *s = static_cast<Stream *>(user);
  s->text.append(text, len);
  if (s->print && len) {
    std::fwrite(text, 1, len, stdout);
    std::fflush(stdout);
  }
  return 0;
}

void printStats(const hy_generate_result_t &r) {
  auto rate = [](int n, double s) { return s > 0 ? n / s : 0.0; };
  std::fprintf(stderr,
               "hyc run: prompt %d tokens in %.3f s (%.1f tokens/s), generated %d "
               "tokens in %.3f s (%.1f tokens/s)\n",
               r.n_prompt, r.prompt_seconds, rate(r.n_prompt, r.prompt_seconds),
               r.n_generated, r.generate_seconds,
               rate(r.n_generated, r.generate_seconds));
}

/// Generates after `prompt` tokens (appended at the context's position),
/// streaming text. Returns 0, or prints the error and returns 1.
int generate(hy_context_t *ctx, const std::vector<int32_t> &prompt,
             const Options &o, Stream &stream, hy_generate_result_t &r) {
  hy_generate_options_t g;
  hy_generate_options_init(&g);
  g.sampling = o.sampling;
  g.max_tokens = static_cast<int32_t>(o.steps);
  g.on_token = onToken;
  g.user_data = &stream;
  gGenerating = ctx;
  hy_status_t s = hy_generate(ctx, prompt.data(), prompt.size(), &g, &r);
  gGenerating = nullptr;
  if (stream.print && !stream.text.empty() && stream.text.back() != '\n')
    std::fputc('\n', stdout);
  std::fflush(stdout);
  if (s == HY_ERR_CANCELLED) {
    std::fprintf(stderr, "hyc run: stopped\n");
    return 0;
  }
  if (s == HY_ERR_CONTEXT_FULL) {
    std::fprintf(stderr, "hyc run: the context is full (%s)\n", hy_last_error());
    return 0;
  }
  if (s != HY_OK)
    return fail("run", hy_last_error());
  return 0;
}

/// The legacy token-id mode: greedy, `steps` tokens after the prompt, each fed
/// back (the sequence tests/e2e/reference.py decodes).
int runTokens(hy_model_t *model, hy_context_t *ctx, std::vector<int32_t> prompt,
              const Options &o) {
  const std::string cmd = "run";
  const hy_model_desc_t *desc = hy_model_desc(model);
  long long steps = o.steps < 0 ? 16 : o.steps;
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
  if (!o.dumpPrefix.empty()) {
    logitsOut = std::fopen((o.dumpPrefix + ".logits").c_str(), "wb");
    tokensOut = std::fopen((o.dumpPrefix + ".tokens").c_str(), "w");
    if (!logitsOut || !tokensOut)
      return fail(cmd, "cannot write '" + o.dumpPrefix + ".logits/.tokens'");
  }
  std::vector<float> logits(static_cast<size_t>(desc->n_vocab));
  std::vector<int32_t> generated;
  int32_t next = -1;
  auto t0 = std::chrono::steady_clock::now();
  double promptSeconds = 0;
  size_t total = prompt.size() + static_cast<size_t>(steps);
  for (size_t i = 0; i < total; ++i) {
    int32_t token = i < prompt.size() ? prompt[i] : next;
    if (hy_decode(ctx, token, logits.data(), logits.size()) != HY_OK)
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
  if (!o.quiet) {
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

/// The conversation so far as tokens; drops the oldest turns when it would
/// leave fewer than `reserve` free positions.
bool chatTokens(hy_model_t *model, std::vector<hy_chat_message_t> &msgs,
                const hy_chat_options_t &co, int64_t nCtx, int64_t reserve,
                std::vector<int32_t> &out, std::string &error) {
  for (;;) {
    size_t n = 0;
    out.resize(256);
    hy_status_t s = hy_chat_tokenize(model, msgs.data(), msgs.size(), &co,
                                     out.data(), out.size(), &n);
    if (s == HY_ERR_BUFFER_TOO_SMALL) {
      out.resize(n);
      s = hy_chat_tokenize(model, msgs.data(), msgs.size(), &co, out.data(),
                           out.size(), &n);
    }
    if (s != HY_OK) {
      error = hy_last_error();
      return false;
    }
    out.resize(n);
    if (static_cast<int64_t>(n) + reserve <= nCtx)
      return true;
    // Forget the oldest user/assistant exchange (system messages stay).
    size_t first = 0;
    while (first < msgs.size() && msgs[first].role == HY_ROLE_SYSTEM)
      ++first;
    if (msgs.size() - first <= 1) {
      if (static_cast<int64_t>(n) < nCtx)
        return true; // generate what still fits
      error = "the message does not fit in the context of " + std::to_string(nCtx) +
              " positions";
      return false;
    }
    size_t drop = msgs.size() - first >= 3 ? 2 : 1;
    msgs.erase(msgs.begin() + static_cast<std::ptrdiff_t>(first),
               msgs.begin() + static_cast<std::ptrdiff_t>(first + drop));
  }
}

int runChat(hy_model_t *model, hy_context_t *ctx, const Options &o, bool interactive) {
  hy_model_info_t info;
  hy_model_info(model, &info);
  if (!info.has_chat)
    return fail("run", "the model has no chat template (its GGUF had no "
                       "tokenizer.chat_template HY recognizes)");
  hy_chat_options_t co;
  hy_chat_options_init(&co);
  co.thinking = o.thinking;
  // Keep owned copies: hy_chat_message_t only points at the text.
  std::vector<std::string> texts;
  std::vector<hy_chat_role_t> roles;
  if (!o.system.empty()) {
    texts.push_back(o.system);
    roles.push_back(HY_ROLE_SYSTEM);
  }
  if (interactive)
    std::fprintf(stderr, "hyc chat: %s. Ctrl-D quits, Ctrl-C stops a reply; start a "
                         "message with /no_think or /think to switch thinking.\n",
                 o.thinking == HY_THINKING_OFF ? "thinking off" : "thinking on");
  std::string line;
  int turns = 0;
  for (;;) {
    if (o.havePrompt) {
      if (turns)
        break;
      line = o.prompt;
    } else {
      if (interactive) {
        std::fputs("> ", stderr);
        std::fflush(stderr);
      }
      if (!std::getline(std::cin, line)) {
        if (interactive)
          std::fputc('\n', stderr);
        break;
      }
      if (line.empty())
        continue;
    }
    ++turns;
    texts.push_back(line);
    roles.push_back(HY_ROLE_USER);
    std::vector<hy_chat_message_t> msgs;
    for (size_t i = 0; i < texts.size(); ++i)
      msgs.push_back({roles[i], texts[i].c_str()});
    std::vector<int32_t> tokens;
    std::string error;
    int64_t reserve = std::min<int64_t>(o.steps > 0 ? o.steps : 256, info.n_ctx / 2);
    size_t before = msgs.size();
    if (!chatTokens(model, msgs, co, info.n_ctx, reserve, tokens, error))
      return fail("run", error);
    if (msgs.size() != before) { // history was trimmed: keep our copies in step
      size_t dropped = before - msgs.size();
      size_t first = o.system.empty() ? 0 : 1;
      texts.erase(texts.begin() + static_cast<std::ptrdiff_t>(first),
                  texts.begin() + static_cast<std::ptrdiff_t>(first + dropped));
      roles.erase(roles.begin() + static_cast<std::ptrdiff_t>(first),
                  roles.begin() + static_cast<std::ptrdiff_t>(first + dropped));
    }
    size_t kept = 0;
    hy_context_keep_prefix(ctx, tokens.data(), tokens.size(), &kept);
    std::vector<int32_t> rest(tokens.begin() + static_cast<std::ptrdiff_t>(kept), tokens.end());
    Stream stream;
    stream.print = !o.quiet;
    hy_generate_result_t r;
    if (generate(ctx, rest, o, stream, r) != 0)
      return 1;
    printStats(r);
    texts.push_back(stream.text);
    roles.push_back(HY_ROLE_ASSISTANT);
  }
  return 0;
}
} // namespace

int hyc::driver::runMain(const std::vector<std::string> &args) {
  const std::string cmd = "run";
  Options o;
  hy_sampler_options_init(&o.sampling);
  o.sampling.temperature = 0.0f; // greedy unless --temp
  std::string error;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kRunUsage, stdout);
      return 0;
    }
    static const char *withValue[] = {"-n", "--tokens", "--dump-logits", "-p",
                                      "--prompt", "--system", "--temp",
                                      "--top-k", "--top-p", "--min-p",
                                      "--repeat-penalty", "--seed", "--threads"};
    bool takes = false;
    for (const char *f : withValue)
      takes |= a == f;
    if (takes) {
      if (i + 1 >= args.size())
        return fail(cmd, "option " + a + " needs a value");
      const std::string &v = args[++i];
      long long n = 0;
      if (a == "-n") {
        if (!parsePositive(a, v, 1 << 20, o.steps, error))
          return fail(cmd, error);
      } else if (a == "--tokens") {
        if (!parseTokens(v, o.tokens, error))
          return fail(cmd, error);
      } else if (a == "--dump-logits") {
        o.dumpPrefix = v;
      } else if (a == "-p" || a == "--prompt") {
        o.prompt = v;
        o.havePrompt = true;
      } else if (a == "--system") {
        o.system = v;
      } else if (a == "--temp") {
        if (!parseFloat(a, v, 0, 100, o.sampling.temperature, error))
          return fail(cmd, error);
      } else if (a == "--top-p") {
        if (!parseFloat(a, v, 0, 1, o.sampling.top_p, error))
          return fail(cmd, error);
      } else if (a == "--min-p") {
        if (!parseFloat(a, v, 0, 1, o.sampling.min_p, error))
          return fail(cmd, error);
      } else if (a == "--repeat-penalty") {
        if (!parseFloat(a, v, 0.01, 100, o.sampling.repetition_penalty, error))
          return fail(cmd, error);
      } else if (a == "--top-k") {
        if (v == "0")
          o.sampling.top_k = 0;
        else if (!parsePositive(a, v, 1 << 24, n, error))
          return fail(cmd, error);
        else
          o.sampling.top_k = static_cast<int32_t>(n);
      } else if (a == "--seed") {
        char *end = nullptr;
        unsigned long long s = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || v[0] == '-')
          return fail(cmd, "--seed expects a non-negative integer, got '" + v + "'");
        o.sampling.seed = s;
      } else if (a == "--threads") {
        if (!parsePositive(a, v, 1024, o.threads, error))
          return fail(cmd, error);
      }
    } else if (a == "--chat") {
      o.chat = true;
    } else if (a == "--no-think") {
      o.thinking = HY_THINKING_OFF;
    } else if (a == "--think") {
      o.thinking = HY_THINKING_ON;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--no-mmap") {
      o.noMmap = true;
    } else if (!a.empty() && a[0] == '-') {
      return fail(cmd, "unknown option '" + a + "' (see 'hyc run --help')");
    } else if (o.dir.empty()) {
      o.dir = a;
    } else {
      return fail(cmd, "unexpected argument '" + a + "'");
    }
  }
  if (o.dir.empty())
    return fail(cmd, "no library directory given (usage: hyc run DIR)");
  if (!o.tokens.empty() && o.havePrompt)
    return fail(cmd, "give either -p PROMPT or --tokens, not both");
  if (!o.dumpPrefix.empty() && o.havePrompt)
    return fail(cmd, "--dump-logits works with --tokens only");

  hy_model_options_t mo;
  hy_model_options_init(&mo);
  mo.n_threads = static_cast<int32_t>(o.threads);
  mo.no_mmap = o.noMmap;
  hy_model_t *rawModel = nullptr;
  if (hy_model_open_dir_ex(o.dir.c_str(), &mo, &rawModel) != HY_OK)
    return fail(cmd, hy_last_error());
  std::unique_ptr<hy_model_t, ModelDeleter> model(rawModel);
  hy_model_info_t info;
  hy_model_info(model.get(), &info);
  // Libraries without the pool hook run their kernels on Halide's own pool,
  // which reads HL_NUM_THREADS when it first starts (at the first decode).
  if (!info.has_parallel && o.threads > 0)
    setenv("HL_NUM_THREADS", std::to_string(o.threads).c_str(), 1);
  hy_context_t *rawCtx = nullptr;
  if (hy_context_create(model.get(), &rawCtx) != HY_OK)
    return fail(cmd, hy_last_error());
  std::unique_ptr<hy_context_t, ContextDeleter> ctx(rawCtx);
  std::signal(SIGINT, onInterrupt);

  bool tty = isatty(STDIN_FILENO);
  if (!o.tokens.empty() || (!o.havePrompt && !o.chat && !tty))
    return runTokens(model.get(), ctx.get(), o.tokens, o);
  if (!info.has_tokenizer)
    return fail(cmd, "'" + o.dir + "' has no tokenizer file: text needs one "
                     "(recompile with this hyc), or use --tokens");
  if (o.steps < 0)
    o.steps = 256;
  if (o.chat || !o.havePrompt)
    return runChat(model.get(), ctx.get(), o, !o.havePrompt && tty);

  // Plain completion: BOS + the prompt's tokens.
  std::vector<int32_t> tokens(o.prompt.size() + 2);
  size_t n = 0;
  if (hy_tokenize(model.get(), o.prompt.data(), o.prompt.size(), HY_TOKENIZE_ADD_BOS,
                  tokens.data(), tokens.size(), &n) != HY_OK)
    return fail(cmd, hy_last_error());
  tokens.resize(n);
  Stream stream;
  stream.print = !o.quiet;
  hy_generate_result_t r;
  if (generate(ctx.get(), tokens, o, stream, r) != 0)
    return 1;
  printStats(r);
  return 0;
}
