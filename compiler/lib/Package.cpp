//===- Package.cpp - the files of a compiled model library ---------------===//
#include "hyc/Package.h"

#include "llvm/Object/Archive.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

#ifndef HYC_HALIDE_GENERATOR
#error "HYC_HALIDE_GENERATOR must name the Halide generator executable"
#endif

#ifndef HYC_RUNTIME_INCLUDE_DIR
#error "HYC_RUNTIME_INCLUDE_DIR must name runtime/include"
#endif

using namespace hyc;

StagingDir::~StagingDir() {
  if (!tmp.empty() && !committed)
    llvm::sys::fs::remove_directories(tmp);
}

bool StagingDir::create(const std::string &outDir, std::string &error) {
  out = outDir;
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  if (llvm::sys::fs::exists(out)) {
    bool isDir = llvm::sys::fs::is_directory(out);
    std::error_code ec;
    bool empty = isDir && llvm::sys::fs::directory_iterator(out, ec) ==
                              llvm::sys::fs::directory_iterator();
    if (!isDir || (!empty && !llvm::sys::fs::exists(out + "/hy_model.name"))) {
      error = "output '" + out + "' exists and is not an (empty or hyc) output "
              "directory; refusing to overwrite it";
      return false;
    }
  }
  tmp = out + ".hyc-tmp-" + std::to_string(::getpid());
  llvm::sys::fs::remove_directories(tmp);
  if (std::error_code ec = llvm::sys::fs::create_directories(tmp)) {
    error = "cannot create '" + tmp + "': " + ec.message();
    tmp.clear();
    return false;
  }
  return true;
}

bool StagingDir::commit(std::string &error) {
  if (llvm::sys::fs::exists(out))
    if (std::error_code ec = llvm::sys::fs::remove_directories(out)) {
      error = "cannot replace '" + out + "': " + ec.message();
      return false;
    }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, out)) {
    error = "cannot move the output into '" + out + "': " + ec.message();
    return false;
  }
  committed = true;
  return true;
}

bool hyc::writeFile(const std::string &path, const std::string &contents,
                    std::string &error) {
  std::ofstream os(path, std::ios::binary);
  os.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  os.close();
  if (!os) {
    error = "cannot write '" + path + "'";
    return false;
  }
  return true;
}

namespace {
/// FNV-1a over little-endian 64-bit words (then tail bytes), fed in pieces.
/// Must agree with hy_weights_hash() in runtime/src/model.c.
class WordHash {
public:
  void update(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      word |= static_cast<uint64_t>(p[i]) << (8 * filled);
      if (++filled == 8) {
        h = (h ^ word) * kPrime;
        word = 0;
        filled = 0;
      }
    }
  }
  uint64_t finish() {
    for (unsigned i = 0; i < filled; ++i)
      h = (h ^ ((word >> (8 * i)) & 0xff)) * kPrime;
    filled = 0;
    word = 0;
    return h;
  }

private:
  static constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t h = 0xcbf29ce484222325ull, word = 0;
  unsigned filled = 0;
};
} // namespace

bool hyc::hashFile(const std::string &path, uint64_t &hash, uint64_t &bytes,
                   std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot read '" + path + "': " + buffer.getError().message();
    return false;
  }
  WordHash hasher;
  hasher.update(reinterpret_cast<const uint8_t *>((*buffer)->getBufferStart()),
                (*buffer)->getBufferSize());
  hash = hasher.finish();
  bytes = (*buffer)->getBufferSize();
  return true;
}

void hyc::interleaveQ2_0CRows(const uint8_t *src, uint8_t *dst, int64_t rows,
                              int64_t rowBytes, int64_t tileRows) {
  constexpr int64_t kBlock = 130, kCodes = 128;
  const int64_t nb = rowBytes / kBlock, tile = tileRows * rowBytes;
  for (int64_t t = 0; t < rows / tileRows; ++t) {
    uint8_t *scales = dst + t * tile, *codes = scales + 2 * tileRows * nb;
    for (int64_t i = 0; i < tileRows; ++i)
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t *block = src + (t * tileRows + i) * rowBytes + b * kBlock;
        const int64_t slot = tileRows * b + i;
        std::memcpy(scales + 2 * slot, block, 2);
        std::memcpy(codes + kCodes * slot, block + 2, kCodes);
      }
  }
}

bool hyc::writeWeightsBlob(const ImportedModel &model,
                           const std::vector<RepackedRange> &repacked,
                           const std::string &path, uint64_t &hash, std::string &error) {
  std::ofstream os(path, std::ios::binary);
  WordHash hasher;
  static const uint8_t zeros[64] = {};
  int64_t at = 0;
  auto emit = [&](const uint8_t *data, int64_t n) {
    os.write(reinterpret_cast<const char *>(data), n);
    hasher.update(data, static_cast<size_t>(n));
    at += n;
  };
  auto padTo = [&](int64_t offset) {
    while (at < offset)
      emit(zeros, std::min<int64_t>(64, offset - at));
  };
  std::vector<uint8_t> gathered, converted;
  const std::vector<WeightEntry> &ws = model.weights;
  for (size_t i = 0; i < ws.size();) {
    padTo(ws[i].blobOffset);
    const RepackedRange *range = nullptr;
    for (const RepackedRange &r : repacked)
      if (ws[i].blobOffset >= r.offset && ws[i].blobOffset < r.offset + r.bytes)
        range = &r;
    if (!range) {
      emit(ws[i].source, ws[i].bytes);
      ++i;
      continue;
    }
    // A repacked range: whole, adjacent weights from its first byte to its
    // last, gathered, converted and written at once.
    const int64_t end = range->offset + range->bytes;
    gathered.clear();
    while (i < ws.size() && ws[i].blobOffset < end) {
      if (ws[i].blobOffset != range->offset + static_cast<int64_t>(gathered.size()) ||
          ws[i].format != lowbit::WeightFormat::Q2_0C ||
          ws[i].blobOffset + ws[i].bytes > end) {
        error = "internal error: the repacked weight range at blob offset " +
                std::to_string(range->offset) + " (" + std::to_string(range->bytes) +
                " bytes) does not consist of whole, adjacent Q2_0C weights ('" + ws[i].name +
                "' breaks it)";
        return false;
      }
      gathered.insert(gathered.end(), ws[i].source, ws[i].source + ws[i].bytes);
      ++i;
    }
    if (static_cast<int64_t>(gathered.size()) != range->bytes || range->rowBytes <= 0 ||
        range->tileRows <= 0 || range->bytes % (range->rowBytes * range->tileRows) != 0) {
      error = "internal error: the repacked weight range at blob offset " +
              std::to_string(range->offset) + " does not hold whole tiles of " +
              std::to_string(range->tileRows) + " rows";
      return false;
    }
    converted.resize(gathered.size());
    interleaveQ2_0CRows(gathered.data(), converted.data(), range->bytes / range->rowBytes,
                        range->rowBytes, range->tileRows);
    emit(converted.data(), range->bytes);
  }
  padTo(model.blobBytes);
  os.close();
  if (!os) {
    error = "cannot write the weights blob '" + path + "'";
    return false;
  }
  hash = hasher.finish();
  return true;
}

std::string hyc::halideTargetForIsa(const std::string &kernelIsa) {
  // "isa=halide-target,..." from the build (schedules/CMakeLists.txt and
  // Arm64Kernels.cmake).
  llvm::SmallVector<llvm::StringRef> pairs;
  llvm::StringRef(HYC_HALIDE_ISA_TARGETS).split(pairs, ',');
  for (llvm::StringRef pair : pairs) {
    auto [isa, value] = pair.split('=');
    if (isa == kernelIsa)
      return value.str();
  }
  return "";
}

std::string hyc::halideGeneratorPath() { return HYC_HALIDE_GENERATOR; }

bool hyc::generateKernelVariants(const std::vector<KernelVariant> &variants,
                                 const TargetInfo &target, const std::string &dir,
                                 std::vector<std::string> &objects,
                                 std::string &error) {
  if (variants.empty())
    return true;
  std::string halideTarget = halideTargetForIsa(target.kernelIsa);
  if (halideTarget.empty()) {
    error = "no Halide target known for kernel ISA '" + target.kernelIsa +
            "': cannot generate tuned kernels for it";
    return false;
  }
  // The ISA's Halide target names Linux; the macOS targets build the same
  // kernels as Mach-O (Halide's "osx").
  if (target.os == "macos") {
    size_t at = halideTarget.find("-linux");
    if (at != std::string::npos)
      halideTarget.replace(at, 6, "-osx");
  }
  std::string generator = HYC_HALIDE_GENERATOR;
  for (const KernelVariant &v : variants) {
    std::vector<std::string> argv = {generator, "-g",
                                     kernelGenerator(v.kernel, target.kernelIsa),
                                     "-f", v.symbol,
                                     "-e", "object", "-o", dir,
                                     "target=" + halideTarget + "-no_runtime"};
    for (const std::string &p : kernelGeneratorParams(v.kernel))
      argv.push_back(p);
    llvm::SmallVector<llvm::StringRef> params;
    llvm::StringRef(v.schedule).split(params, ',');
    for (llvm::StringRef p : params)
      argv.push_back(p.str());
    std::vector<llvm::StringRef> refs(argv.begin(), argv.end());
    std::string message;
    std::string log = dir + "/" + v.symbol + ".log";
    std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                  llvm::StringRef(log)};
    int rc = llvm::sys::ExecuteAndWait(generator, refs, std::nullopt, redirects, 0, 0,
                                       &message);
    std::string object = dir + "/" + v.symbol + ".o";
    if (rc != 0 || !llvm::sys::fs::exists(object)) {
      auto text = llvm::MemoryBuffer::getFile(log);
      error = "generating kernel " + v.kernel + " with schedule '" + v.schedule +
              "' failed (exit " + std::to_string(rc) + ")" +
              (text ? ": " + llvm::StringRef((*text)->getBuffer()).trim().str() : "");
      return false;
    }
    llvm::sys::fs::remove(log);
    objects.push_back(object);
  }
  return true;
}

bool hyc::writeStaticLibrary(const std::string &path,
                             const std::string &glueName,
                             const std::string &glueObject,
                             const std::vector<std::string> &extraObjects,
                             const std::string &kernelArchive, bool darwin,
                             std::string &error) {
  auto kernelBuffer = llvm::MemoryBuffer::getFile(kernelArchive);
  if (!kernelBuffer) {
    error = "cannot read the kernel library '" + kernelArchive +
            "': " + kernelBuffer.getError().message();
    return false;
  }
  llvm::Error err = llvm::Error::success();
  llvm::object::Archive archive((*kernelBuffer)->getMemBufferRef(), err);
  if (err) {
    error = "'" + kernelArchive + "' is not an archive: " + llvm::toString(std::move(err));
    return false;
  }
  std::vector<llvm::NewArchiveMember> members;
  llvm::NewArchiveMember glue(
      llvm::MemoryBufferRef(llvm::StringRef(glueObject), glueName));
  members.push_back(std::move(glue));
  for (const std::string &object : extraObjects) {
    auto member = llvm::NewArchiveMember::getFile(object, /*Deterministic=*/true);
    if (!member) {
      error = "cannot read '" + object + "': " + llvm::toString(member.takeError());
      return false;
    }
    members.push_back(std::move(*member));
  }
  for (const llvm::object::Archive::Child &child : archive.children(err)) {
    auto member = llvm::NewArchiveMember::getOldMember(child, /*Deterministic=*/true);
    if (!member) {
      error = "cannot read a member of '" + kernelArchive +
              "': " + llvm::toString(member.takeError());
      return false;
    }
    members.push_back(std::move(*member));
  }
  if (err) {
    error = "cannot read '" + kernelArchive + "': " + llvm::toString(std::move(err));
    return false;
  }
  if (llvm::Error e = llvm::writeArchive(path, members,
                                         llvm::SymtabWritingMode::NormalSymtab,
                                         darwin ? llvm::object::Archive::K_DARWIN
                                                : llvm::object::Archive::K_GNU,
                                         /*Deterministic=*/true, /*Thin=*/false)) {
    error = "cannot write '" + path + "': " + llvm::toString(std::move(e));
    return false;
  }
  return true;
}

namespace {
/// Runs the target's C compiler driver `driver` with `args`. `purpose` and
/// `action` name the step in errors: "cannot <purpose>: no 'cc' on PATH",
/// "<action> failed (cc exited with N: ...)".
bool runCDriver(const std::string &driver, const std::vector<std::string> &args,
                const std::string &purpose, const std::string &action,
                std::string &error) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName(driver);
  if (!cc) {
    error = "cannot " + purpose + ": no '" + driver + "' on PATH";
    return false;
  }
  std::vector<llvm::StringRef> argv = {*cc};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, argv, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = action + " failed (" + *cc + " exited with " + std::to_string(rc) +
            (message.empty() ? "" : ": " + message) + ")";
    return false;
  }
  return true;
}
} // namespace

bool hyc::linkSharedLibrary(const std::string &path,
                            const std::string &glueObjectPath,
                            const std::vector<std::string> &extraObjects,
                            const std::string &kernelArchive,
                            const std::string &linker, std::string &error) {
  // The target's C compiler driver (`cc`, or a cross driver such as
  // aarch64-linux-gnu-gcc) knows where its libc, libm and crt files live.
  // Only the model's own hy_* symbols are exported: the kernel archive's
  // (Halide runtime) symbols stay inside the library.
  std::vector<std::string> args = {"-shared", "-Wl,--exclude-libs,ALL", "-o", path,
                                   glueObjectPath};
  args.insert(args.end(), extraObjects.begin(), extraObjects.end());
  for (const std::string &lib : {kernelArchive, std::string("-lm"),
                                 std::string("-lpthread"), std::string("-ldl")})
    args.push_back(lib);
  return runCDriver(linker, args, "link the shared library", "linking '" + path + "'",
                    error);
}

bool hyc::assembleEmbeddedWeights(const std::string &blobPath,
                                  const std::string &symbol, int64_t bytes,
                                  const TargetInfo &target,
                                  const std::string &objectPath,
                                  std::string &error) {
  // .incbin keeps the blob out of every in-memory representation: the
  // assembler copies the file straight into .rodata.
  std::string asmPath = objectPath + ".s";
  std::string text;
  if (target.os == "macos") {
    // Mach-O: C symbols take a leading underscore; read-only data lives in
    // __TEXT,__const; there is no .type/.size.
    text += "  .section __TEXT,__const\n";
    text += "  .p2align 6\n";
    text += "  .globl _" + symbol + "\n";
    text += "_" + symbol + ":\n";
    text += "  .incbin \"" + blobPath + "\"\n";
  } else {
    text += "  .section .rodata.hy_weights,\"a\"\n";
    text += "  .balign 64\n";
    text += "  .globl " + symbol + "\n";
    text += "  .type " + symbol + ", %object\n";
    text += symbol + ":\n";
    text += "  .incbin \"" + blobPath + "\"\n";
    text += "  .size " + symbol + ", " + std::to_string(bytes) + "\n";
    text += "  .section .note.GNU-stack,\"\",%progbits\n";
  }
  if (!writeFile(asmPath, text, error))
    return false;
  std::vector<std::string> args = target.assemblerFlags;
  args.insert(args.end(), {"-c", asmPath, "-o", objectPath});
  bool ok = runCDriver(target.assembler.empty() ? target.linker : target.assembler, args,
                       "embed the weights",
                       "assembling the embedded weights", error);
  llvm::sys::fs::remove(asmPath);
  return ok;
}

bool hyc::writeHeaders(const std::string &dir, const std::string &name,
                       const ImportedModel &model, bool embeddedWeights,
                       std::string &error) {
  auto abi = llvm::MemoryBuffer::getFile(std::string(HYC_RUNTIME_INCLUDE_DIR) +
                                         "/hy/hy_abi.h");
  if (!abi) {
    error = "cannot read hy_abi.h from " HYC_RUNTIME_INCLUDE_DIR;
    return false;
  }
  if (!writeFile(dir + "/hy_abi.h", (*abi)->getBuffer().str(), error))
    return false;
  const HyConfig &c = model.config;
  std::string h;
  h += "/* hy_model.h - generated by hyc: the entry points of model '" + name + "'.\n";
  h += " * arch " + c.arch + ", " + std::to_string(c.nLayer) + " layers, hidden " +
       std::to_string(c.nEmbd) + ", vocab " + std::to_string(c.nVocab) + ".\n";
  h += " * Link libhy_" + name + ".a with -lm -lpthread -ldl, open it with\n";
  h += " * hy_model_open_static(&hy_" + name + "_desc, hy_" + name +
       "_decode, \"" + name + ".weights\", &model). */\n";
  h += "#ifndef HY_MODEL_" + name + "_H_\n#define HY_MODEL_" + name + "_H_\n\n";
  h += "#include \"hy_abi.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += "extern const hy_model_desc_t hy_" + name + "_desc;\n";
  h += "int32_t hy_" + name +
       "_decode(const uint8_t *weights, uint8_t *arena, uint8_t *kv_cache,\n"
       "        int32_t token, int32_t pos, float *logits);\n";
  h += "int32_t hy_" + name +
       "_prefill(const uint8_t *weights, uint8_t *arena, uint8_t *kv_cache,\n"
       "        const int32_t *tokens, int32_t n, int32_t pos0, float *logits);\n";
  h += "void hy_" + name +
       "_set_parallel(hy_parallel_for_fn parallel_for, void *pool);\n";
  h += "void hy_" + name + "_set_prefetch(hy_prefetch_fn prefetch, void *pool);\n";
  if (embeddedWeights)
    h += "/* The weights blob (compiled with --embed-weights): pass it as\n"
         " * hy_model_options_t.weights_data, with a NULL weights path. */\n"
         "extern const uint8_t hy_" + name + "_weights[];\n";
  h += "\n";
  h += "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return writeFile(dir + "/hy_model.h", h, error);
}
