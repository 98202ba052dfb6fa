//===- Compile.cpp - `hyc compile`: GGUF or ONNX -> native model library ===//
#include "Driver.h"

#include "hyc/Compiler.h"
#include "hyc/Package.h"

#include "../../lib/TokenizerExport.h"
#include "gguf/GGUFFile.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <set>
#include <tuple>
#include <cstdio>

using namespace hyc;

namespace {
/// One line per phase on stderr: "[3/7] lower to LLVM ........ 0.41 s".
class Progress {
public:
  explicit Progress(int total) : total(total) {}
  void begin(const std::string &what) {
    current = what;
    std::fprintf(stderr, "[%d/%d] %-34s", ++index, total, what.c_str());
    std::fflush(stderr);
    start = std::chrono::steady_clock::now();
  }
  void end(const std::string &detail = "") {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, " %7.2f s%s%s\n", s, detail.empty() ? "" : "  ", detail.c_str());
  }
  void failed() { std::fprintf(stderr, " failed\n"); }

private:
  int total, index = 0;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

std::string sanitizeName(const std::string &path) {
  std::string stem = llvm::sys::path::stem(path).str(), out;
  for (char c : stem) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    out += ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9'))
    out = "m_" + out;
  return out;
}

/// "gguf" when the file starts with GGUF's magic, "onnx" for a protobuf
/// ModelProto (first field ir_version, tag 0x08) or a *.onnx name; "" if
/// neither (the error names what was found).
std::string modelFormat(const std::string &path, std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = path + ": cannot open";
    return "";
  }
  unsigned char head[4] = {0, 0, 0, 0};
  size_t n = std::fread(head, 1, 4, f);
  std::fclose(f);
  if (n == 4 && head[0] == 'G' && head[1] == 'G' && head[2] == 'U' && head[3] == 'F')
    return "gguf";
  if (llvm::sys::path::extension(path) == ".onnx" || (n >= 1 && head[0] == 0x08))
    return "onnx";
  error = path + ": not a GGUF file (no 'GGUF' magic) and not an ONNX model (*.onnx)";
  return "";
}

std::string jsonEscape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}
} // namespace

int hyc::driver::compileMain(const std::vector<std::string> &args) {
  const std::string cmd = "compile";
  std::string model, target, out, dumpDir, name, tuningDb, tokenizer, activations;
  std::string weightLayout = "source";
  KvCache kvCache = KvCache::F16;
  long long context = 0;
  bool embedWeights = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    auto value = [&](std::string &dst) {
      if (i + 1 >= args.size())
        return false;
      dst = args[++i];
      return true;
    };
    std::string v, error;
    if (a == "--target" || a == "-o" || a == "--dump-ir" || a == "--name" ||
        a == "--context" || a == "--tuning-db" || a == "--tokenizer" ||
        a == "--activations" || a == "--kv-cache" || a == "--weight-layout") {
      if (!value(v))
        return fail(cmd, "option " + a + " needs a value");
      if (a == "--target")
        target = v;
      else if (a == "-o")
        out = v;
      else if (a == "--dump-ir")
        dumpDir = v;
      else if (a == "--name")
        name = v;
      else if (a == "--tuning-db")
        tuningDb = v;
      else if (a == "--tokenizer")
        tokenizer = v;
      else if (a == "--activations")
        activations = v;
      else if (a == "--weight-layout") {
        if (v != "target" && v != "source")
          return fail(cmd, "--weight-layout must be 'target' (the kernels' layouts) or 'source' "
                           "(the model file's, the default), got '" + v + "'");
        weightLayout = v;
      }
      else if (a == "--kv-cache") {
        if (!parseKvCache(v, kvCache, error))
          return fail(cmd, error);
      }
      else if (!parsePositive(a, v, 1 << 20, context, error))
        return fail(cmd, error);
    } else if (a == "--embed-weights") {
      embedWeights = true;
    } else if (!a.empty() && a[0] == '-') {
      return fail(cmd, "unknown option '" + a + "' (see 'hyc help')");
    } else if (model.empty()) {
      model = a;
    } else {
      return fail(cmd, "unexpected argument '" + a + "' (one model file expected)");
    }
  }
  if (model.empty())
    return fail(cmd, "no model file given (usage: hyc compile MODEL.gguf|MODEL.onnx --target T -o DIR)");
  if (out.empty())
    return fail(cmd, "no output directory given (-o DIR)");
  if (target.empty())
    target = "host";
  if (name.empty())
    name = sanitizeName(model);
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return fail(cmd, "--name must use only a-z, 0-9 and _, got '" + name + "'");

  std::string error;
  TargetInfo targetInfo;
  if (!resolveTarget(target, targetInfo, error) ||
      !setActivations(activations, targetInfo, error))
    return fail(cmd, error);
  if (!llvm::sys::fs::exists(targetInfo.kernelArchive))
    return fail(cmd, "the kernels of target '" + targetInfo.name + "' were not built ('" +
                         targetInfo.kernelArchive + "' is missing): configure hyc with " +
                         (targetInfo.os == "macos" ? "'macos'"
                          : targetInfo.kernelIsa == "neon" || targetInfo.kernelIsa == "sme2"
                              ? "'neon'"
                              : "'x86'") +
                         " in HYC_TARGETS");

  Progress progress(7);
  progress.begin("import " + llvm::sys::path::filename(model).str());
  std::string format = modelFormat(model, error);
  std::unique_ptr<ImportedModel> imported;
  if (!format.empty())
    imported = format == "gguf" ? importGGUF(model, error) : importONNX(model, error);
  // The tokenizer: the model's own GGUF metadata, or --tokenizer FILE.gguf
  // (any GGUF holding tokenizer.* keys; ONNX models carry none).
  std::unique_ptr<gguf::GGUFFile> tokenizerFile;
  if (imported && !tokenizer.empty()) {
    tokenizerFile = gguf::GGUFFile::open(tokenizer, error);
    if (!tokenizerFile) {
      error = "--tokenizer: " + error;
      imported.reset();
    }
  }
  if (!imported) {
    progress.failed();
    return fail(cmd, error);
  }
  HyConfig &c = imported->config;
  if (tokenizerFile) {
    uint32_t id;
    std::string ignored;
    if (tokenizerFile->getU32("tokenizer.ggml.bos_token_id", id, ignored))
      c.bosId = id;
    if (tokenizerFile->getU32("tokenizer.ggml.eos_token_id", id, ignored))
      c.eosId = id;
  }
  if (context == 0)
    context = std::min<long long>(c.trainContext, 4096);
  progress.end(std::to_string(c.nLayer) + " layers, hidden " + std::to_string(c.nEmbd) +
               ", vocab " + std::to_string(c.nVocab));
  for (const std::string &note : imported->notes)
    std::fprintf(stderr, "hyc: note: %s\n", note.c_str());
  if (kvCache == KvCache::Q8_0 && c.headDim % 32 != 0)
    return fail(cmd, "--kv-cache q8_0 needs a head_dim that is a multiple of 32 (its blocks "
                     "never straddle heads); this model's is " + std::to_string(c.headDim) +
                     ": use f16 or f32");

  StagingDir staging;
  if (!staging.create(out, error))
    return fail(cmd, error);

  // The runtime's tokenizer and chat template (NAME.tokenizer).
  const gguf::GGUFFile *tokenizerSource =
      tokenizerFile ? tokenizerFile.get() : imported->file.get();
  if (tokenizerSource &&
      !exportTokenizer(*tokenizerSource, c.nVocab, staging.file(name + ".tokenizer"), error))
    return fail(cmd, error);
  if (!tokenizerSource)
    std::fprintf(stderr, "hyc: note: no tokenizer (ONNX models carry none; pass --tokenizer "
                         "FILE.gguf): the library works on token ids only\n");

  progress.begin("build lowbit module");
  mlir::MLIRContext ctx;
  registerCompilerDialects(ctx);
  MemoryPlan plan;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      buildDecodeModule(ctx, *imported, name, context, kvCache, plan);
  progress.end("context " + std::to_string(plan.context) + ", KV " +
               std::to_string(plan.kvBytes) + " B (" + kvCacheName(plan.kvCache) + ")");

  auto dump = [&](const std::string &phase) {
    if (dumpDir.empty())
      return;
    llvm::sys::fs::create_directories(dumpDir);
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os, mlir::OpPrintingFlags().elideLargeElementsAttrs(64));
    std::string ignored;
    writeFile(dumpDir + "/" + name + "." + phase + ".mlir", text, ignored);
  };
  dump("lowbit");

  progress.begin("lower to LLVM dialect (" + targetInfo.kernelIsa + " kernels)");
  LoweredModule lowered;
  if (!lowerToLLVMDialect(*module, targetInfo, tuningDb, weightLayout == "target", dump,
                          lowered, error)) {
    progress.failed();
    return fail(cmd, error);
  }
  plan.arenaBytes = lowered.arenaBytes;
  const std::vector<KernelVariant> &variants = lowered.variants;
  const std::vector<KernelUse> &uses = lowered.uses;
  progress.end("activation arena " + std::to_string(plan.arenaBytes) + " B");

  // The blob is written once lowbit-pack-weights has chosen each weight's
  // layout; its fingerprint goes into the model descriptor.
  progress.begin("write weights blob");
  uint64_t hash = 0;
  if (!writeWeightsBlob(*imported, lowered.repacked, staging.file(name + ".weights"), hash,
                        error)) {
    progress.failed();
    return fail(cmd, error);
  }
  int64_t repackedBytes = 0;
  for (const RepackedRange &r : lowered.repacked)
    repackedBytes += r.bytes;
  progress.end(std::to_string(imported->blobBytes) + " bytes, " +
               std::to_string(repackedBytes) + " repacked for the kernels");
  addModelDescriptor(*module, name, *imported, plan, hash, targetInfo.cpuFeatures);

  progress.begin("LLVM " + targetInfo.cpu + " object");
  std::string object, llvmIR;
  if (!emitObject(*module, targetInfo, object, llvmIR, error)) {
    progress.failed();
    return fail(cmd, error);
  }
  if (!dumpDir.empty())
    writeFile(dumpDir + "/" + name + ".ll", llvmIR, error);
  progress.end(std::to_string(object.size()) + " bytes");

  const bool macos = targetInfo.os == "macos";
  progress.begin(macos ? "static library (Mach-O)" : "static + shared library");
  std::string objPath = staging.file(name + ".o");
  std::vector<std::string> variantObjects;
  std::string blobPath = staging.file(name + ".weights");
  if (embedWeights) {
    std::string weightsObject = staging.file(name + ".weights.o");
    if (!assembleEmbeddedWeights(blobPath, "hy_" + name + "_weights", imported->blobBytes,
                                 targetInfo, weightsObject, error)) {
      progress.failed();
      return fail(cmd, error);
    }
    variantObjects.push_back(weightsObject);
  }
  if (!generateKernelVariants(variants, targetInfo, staging.path(), variantObjects, error) ||
      !writeFile(objPath, object, error) ||
      !writeStaticLibrary(staging.file("libhy_" + name + ".a"), name + ".o", object,
                          variantObjects, targetInfo.kernelArchive, macos, error) ||
      // macOS: no shared library; the app links libhy_NAME.a on the Mac.
      (!macos &&
       !linkSharedLibrary(staging.file("libhy_" + name + ".so"), objPath, variantObjects,
                          targetInfo.kernelArchive, targetInfo.linker, error))) {
    progress.failed();
    return fail(cmd, error);
  }
  llvm::sys::fs::remove(objPath);
  for (const std::string &o : variantObjects)
    llvm::sys::fs::remove(o);
  if (embedWeights)
    llvm::sys::fs::remove(blobPath); // it lives inside the libraries now
  progress.end();

  progress.begin("headers + manifest");
  std::string manifest = "{\n";
  manifest += "  \"hyc_version\": \"" HYC_VERSION "\",\n";
  manifest += "  \"abi_version\": " + std::to_string(kAbiVersion) + ",\n";
  manifest += "  \"name\": \"" + name + "\",\n";
  // The inputs, fingerprinted: the same inputs give the same library.
  auto inputRecord = [&](const std::string &path, std::string &out) {
    uint64_t h = 0, bytes = 0;
    if (!hashFile(path, h, bytes, error))
      return false;
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    out = "{\"file\": \"" + jsonEscape(llvm::sys::path::filename(path).str()) +
          "\", \"bytes\": " + std::to_string(bytes) + ", \"fnv1a64\": \"" + hex + "\"}";
    return true;
  };
  std::string modelRecord, dbRecord = "null", tokRecord = "null";
  if (!inputRecord(model, modelRecord) ||
      (!tuningDb.empty() && !inputRecord(tuningDb, dbRecord)) ||
      (!tokenizer.empty() && !inputRecord(tokenizer, tokRecord))) {
    progress.failed();
    return fail(cmd, error);
  }
  manifest += "  \"source\": \"" + jsonEscape(llvm::sys::path::filename(model).str()) + "\",\n";
  manifest += "  \"inputs\": {\"model\": " + modelRecord + ", \"tuning_db\": " + dbRecord +
              (tokenizer.empty() ? std::string() : ", \"tokenizer\": " + tokRecord) + "},\n";
  manifest += "  \"arch\": \"" + c.arch + "\",\n";
  manifest += "  \"target\": {\"name\": \"" + targetInfo.name + "\", \"triple\": \"" +
              targetInfo.triple + "\", \"cpu\": \"" + targetInfo.cpu + "\"},\n";
  // The matmuls' activation precision: part of what the library computes
  // (tests/e2e/reference.py --activations reads it from here).
  manifest += "  \"activations\": \"" + targetInfo.activations + "\",\n";
  // The KV cache's element type (reference.py --kv-cache reads it too).
  manifest += "  \"kv_cache\": \"" + std::string(kvCacheName(plan.kvCache)) + "\",\n";
  // Every distinct (kernel, shape, schedule) the library calls.
  std::set<std::tuple<std::string, int64_t, int64_t, std::string, std::string, int64_t>>
      kernelSet;
  for (const KernelUse &u : uses)
    kernelSet.insert({u.kernel, u.n, u.k, u.schedule, u.layout, u.kvHeads});
  manifest += "  \"tuning_db\": " +
              (tuningDb.empty() ? std::string("null") : "\"" + jsonEscape(tuningDb) + "\"") +
              ",\n  \"kernels\": [";
  bool first = true;
  for (const auto &[kernel, n, k, schedule, layout, kvHeads] : kernelSet) {
    manifest += std::string(first ? "\n" : ",\n") + "    {\"kernel\": \"" + kernel +
                "\", \"isa\": \"" + targetInfo.kernelIsa + "\", \"n\": " +
                std::to_string(n) + ", \"k\": " + std::to_string(k) +
                (kvHeads ? ", \"kv_heads\": " + std::to_string(kvHeads) : std::string()) +
                ", \"schedule\": \"" + schedule + "\", \"weights\": \"" + layout + "\"}";
    first = false;
  }
  manifest += "\n  ],\n";
  manifest += "  \"context\": " + std::to_string(plan.context) + ",\n";
  char hashText[32];
  std::snprintf(hashText, sizeof hashText, "%016llx", static_cast<unsigned long long>(hash));
  manifest += "  \"weights\": {\"file\": " +
              (embedWeights ? "null, \"embedded_symbol\": \"hy_" + name + "_weights\""
                            : "\"" + name + ".weights\"") +
              ", \"bytes\": " +
              std::to_string(imported->blobBytes) + ", \"fnv1a64\": \"" + hashText + "\"}\n";
  manifest += "}\n";
  if (!writeHeaders(staging.path(), name, *imported, embedWeights, error) ||
      !writeFile(staging.file("manifest.json"), manifest, error) ||
      !writeFile(staging.file("hy_model.name"), name + "\n", error)) {
    progress.failed();
    return fail(cmd, error);
  }
  if (!staging.commit(error)) {
    progress.failed();
    return fail(cmd, error);
  }
  progress.end();
  std::string weightsNote = embedWeights ? "weights embedded" : name + ".weights";
  std::string libraries = "libhy_" + name + ".a" + (macos ? "" : ", libhy_" + name + ".so");
  std::fprintf(stderr, "hyc: wrote %s (%s, hy_model.h, %s)\n", out.c_str(), libraries.c_str(),
               weightsNote.c_str());
  return 0;
}
