//===- ModelImport.h - a HY model read from GGUF or ONNX, ready to compile ===//
//
// The importer's product: the model's hyperparameters, and the weights each
// lowbit.weight op names, with where their bytes come from (the source file)
// and where they go (the weights blob the compiled library maps).
//
//===----------------------------------------------------------------------===//
#ifndef HYC_MODELIMPORT_H
#define HYC_MODELIMPORT_H

#include "hyc/Dialect/LowBit/LowBit.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hyc {
namespace gguf {
class GGUFFile;
} // namespace gguf

/// Hyperparameters of a hunyuan-dense model, all read from metadata.
struct HyConfig {
  std::string arch;
  int64_t nVocab = 0, nEmbd = 0, nLayer = 0, nHead = 0, nHeadKv = 0,
          headDim = 0, nFF = 0, trainContext = 0;
  float rmsEps = 0;
  double ropeBase = 0;
  int64_t bosId = -1, eosId = -1;
};

/// One weight of the compiled model: a source tensor copied into the blob.
struct WeightEntry {
  std::string name;
  lowbit::WeightFormat format;
  int64_t rows = 0, cols = 0;
  const uint8_t *source = nullptr; ///< bytes in the (mapped) source file
  int64_t bytes = 0;
  int64_t blobOffset = 0;          ///< 64-byte aligned offset in the blob
};

struct ImportedModel {
  std::shared_ptr<gguf::GGUFFile> file; ///< the GGUF source (null for ONNX)
  HyConfig config;
  std::vector<WeightEntry> weights;
  int64_t blobBytes = 0;
  const WeightEntry *find(const std::string &name) const;
  /// What keeps WeightEntry::source alive when it is not `file` (the ONNX
  /// model and its mapped external data).
  std::shared_ptr<void> sourceKeepAlive;
  /// Weights converted by the importer (e.g. ONNX MatMulNBits -> Q2_0C);
  /// WeightEntry::source points into these buffers.
  std::vector<std::unique_ptr<std::vector<uint8_t>>> ownedData;
  /// One line per noteworthy conversion (lossy quantization and its error),
  /// for the driver to print.
  std::vector<std::string> notes;
};

/// Reads `path`, checks architecture, hyperparameters and every tensor's
/// shape and type against them. On failure returns null and sets `error` to
/// a message naming the file and what is wrong.
std::unique_ptr<ImportedModel> importGGUF(const std::string &path,
                                          std::string &error);

/// Reads an ONNX model of a hunyuan-dense decoder (compiler/lib/ImportONNX.cpp:
/// the accepted graph forms), matches every node into the model's structure
/// and converts the linear layers to Q2_0C (losslessly when their values lie
/// on a symmetric 4-level grid per 512-block, else by a scale search whose
/// error lands in `notes`). On failure returns null and sets `error` to a
/// message naming the file, the node (name and op type) and where it sits.
std::unique_ptr<ImportedModel> importONNX(const std::string &path,
                                          std::string &error);
} // namespace hyc

#endif // HYC_MODELIMPORT_H
