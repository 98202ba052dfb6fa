//===- FuzzDriver.cpp - run a libFuzzer target without libFuzzer ----------===//
//
// main() for building GGUFReaderFuzzer.cpp with any compiler: replays every
// file named on the command line (directories are walked), and for each also
// a fixed set of truncations and byte mutations, through
// LLVMFuzzerTestOneInput(). Each input is copied into an exactly sized heap
// buffer, as libFuzzer does. ctest uses it to keep the fuzz target building
// and its invariants holding on the seed corpus in the normal build.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

void runOne(const std::vector<uint8_t> &bytes) {
  // A fresh allocation of exactly the input's size (nullptr for 0 bytes).
  std::unique_ptr<uint8_t[]> buf(bytes.empty() ? nullptr
                                               : new uint8_t[bytes.size()]);
  std::copy(bytes.begin(), bytes.end(), buf.get());
  LLVMFuzzerTestOneInput(buf.get(), bytes.size());
}

/// The input itself, 32 truncations and 200 random 1-4 byte mutations.
uint64_t runWithMutations(const std::vector<uint8_t> &seed, uint32_t salt) {
  uint64_t runs = 0;
  runOne(seed);
  ++runs;
  for (int k = 0; k < 32 && !seed.empty(); ++k) {
    std::vector<uint8_t> cut(seed.begin(), seed.begin() + seed.size() * k / 32);
    runOne(cut);
    ++runs;
  }
  std::mt19937 rng(salt);
  for (int k = 0; k < 200 && !seed.empty(); ++k) {
    std::vector<uint8_t> m = seed;
    // Bias edits toward the header and tables, where the parser lives.
    size_t span = std::min<size_t>(m.size(), 4096);
    for (int e = 0, n = 1 + rng() % 4; e < n; ++e) {
      size_t at = (rng() % 4 ? rng() % span : rng() % m.size());
      m[at] = (rng() % 2) ? static_cast<uint8_t>(rng())
                          : m[at] ^ (1u << (rng() % 8));
    }
    runOne(m);
    ++runs;
  }
  return runs;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto &e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file())
          files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s FILE|DIR...  (no inputs found)\n", argv[0]);
    return 2;
  }
  uint64_t runs = 0;
  uint32_t salt = 1;
  for (const auto &p : files) {
    std::ifstream in(p, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) {
      std::fprintf(stderr, "cannot read %s\n", p.c_str());
      return 2;
    }
    runs += runWithMutations(bytes, salt++);
  }
  std::printf("%zu inputs, %llu executions, no invariant violated\n",
              files.size(), static_cast<unsigned long long>(runs));
  return 0;
}
