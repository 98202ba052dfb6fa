//===- ModelImport.h - a HY model read from GGUF, ready to compile -------===//
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
  std::shared_ptr<gguf::GGUFFile> file;
  HyConfig config;
  std::vector<WeightEntry> weights;
  int64_t blobBytes = 0;
  const WeightEntry *find(const std::string &name) const;
};

/// Reads `path`, checks architecture, hyperparameters and every tensor's
/// shape and type against them. On failure returns null and sets `error` to
/// a message naming the file and what is wrong.
std::unique_ptr<ImportedModel> importGGUF(const std::string &path,
                                          std::string &error);
} // namespace hyc

#endif // HYC_MODELIMPORT_H
