//===- TokenizerExportTool.cpp - GGUF tokenizer metadata -> NAME.tokenizer ===//
//
// Test helper: runs the compiler's exportTokenizer (what `hyc compile` does
// after writing the weights) on a GGUF file that may hold only tokenizer
// metadata, so tokenizer tests need neither tensors nor MLIR.
//
//   hy-tokenizer-export MODEL.gguf OUT.tokenizer
//===----------------------------------------------------------------------===//
#include "TokenizerExport.h"
#include "gguf/GGUFFile.h"

#include <cstdio>
#include <string>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf OUT.tokenizer\n", argv[0]);
    return 2;
  }
  std::string error;
  auto file = hyc::gguf::GGUFFile::open(argv[1], error);
  if (!file) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 1;
  }
  std::vector<std::string> tokens;
  if (!file->getStringArray("tokenizer.ggml.tokens", tokens, error)) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 1;
  }
  if (!hyc::exportTokenizer(*file, static_cast<int64_t>(tokens.size()), argv[2], error)) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 1;
  }
  return 0;
}
