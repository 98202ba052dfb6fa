//===- hyc.cpp - the hyc command-line driver ------------------------------===//
#include "Driver.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace hyc::driver;

static const char *kUsage =
    "usage: hyc <command> [options]\n"
    "\n"
    "commands:\n"
    "  compile MODEL.gguf|MODEL.onnx [--target T] -o DIR [--context N] [--name NAME]\n"
    "          [--dump-ir DIR] [--tuning-db FILE] [--embed-weights] [--tokenizer FILE.gguf]\n"
    "          [--activations int8|f32] [--kv-cache f16|f32|q8_0] [--weight-layout target|source]\n"
    "      compile a model into a native library directory (ONNX: see README, \"ONNX input\";\n"
    "      --tokenizer takes the tokenizer from a GGUF's tokenizer.* metadata; --activations:\n"
    "      int8 rounds the 2-bit matmuls' inputs to int8 per 32 (default on x86-64),\n"
    "      f32 keeps float32 math (default elsewhere); --kv-cache: the KV cache's element\n"
    "      type, f16 (default: half the memory), f32, or q8_0 (ggml's Q8_0 blocks: 34 bytes\n"
    "      per 32, about half of f16); --weight-layout: source (default)\n"
    "      keeps the model file's layout, target repacks weights into the layout of the\n"
    "      kernels that read them)\n"
    "      targets: host (default), x86-64-avx2, x86-64-avx512, aarch64-neon, aarch64-sme2,\n"
    "               aarch64-neon-macos, aarch64-sme2-macos (Mach-O static library: README)\n"
    "  run DIR [-p PROMPT] [--chat] [--no-think] [-n N] [--temp T] [--seed S] [--threads N]\n"
    "      generate with a compiled model (streamed text, then tokens/s); interactive chat\n"
    "      without -p on a terminal; --tokens/--dump-logits for token ids (hyc run --help)\n"
    "  inspect FILE.gguf [--no-tensors]\n"
    "      arch, hyperparameters, tokenizer, tensor table, totals per type, bits per weight\n"
    "  convert FILE.gguf --to q2_k -o OUT.gguf [--no-verify]\n"
    "      rewrite Q2_0C tensors as Q2_K (lossless; for stock llama.cpp), copy the rest\n"
    "  bench DIR [--threads 1,2] [--runs 5] [--pp 512] [--tg 128] [--ttft 256,1024] [--json FILE]\n"
    "      prefill/decode tokens/s, time to first token, peak RSS, read bandwidth and the\n"
    "      decode roofline (hyc bench --help)\n"
    "  tune --model MODEL.gguf [--target T] -o tuning.json [--budget MINUTES] [--runner CMD]\n"
    "          [--activations int8|f32]\n"
    "      search kernel schedules on the target, write a tuning database (hyc tune --help)\n"
    "  help      this text\n"
    "  version   the hyc version\n";

int hyc::driver::fail(const std::string &cmd, const std::string &message) {
  std::fprintf(stderr, "hyc %s: error: %s\n", cmd.c_str(), message.c_str());
  return 1;
}

bool hyc::driver::parsePositive(const std::string &flag, const std::string &text,
                                long long max, long long &out,
                                std::string &error) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v <= 0 || v > max) {
    error = flag + " expects an integer in [1, " + std::to_string(max) +
            "], got '" + text + "'";
    return false;
  }
  out = v;
  return true;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "compile")
    return compileMain(args);
  if (cmd == "run")
    return runMain(args);
  if (cmd == "inspect")
    return inspectMain(args);
  if (cmd == "convert")
    return convertMain(args);
  if (cmd == "bench")
    return benchMain(args);
  if (cmd == "tune")
    return tuneMain(args);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("hyc %s\n", HYC_VERSION);
    return 0;
  }
  std::fprintf(stderr, "hyc: error: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
