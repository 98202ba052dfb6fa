//===- Package.h - writing a compiled model library to its directory -----===//
#ifndef HYC_PACKAGE_H
#define HYC_PACKAGE_H

#include "hyc/Compiler.h"

#include <string>

namespace hyc {

/// A temporary sibling of the output directory that becomes the output
/// directory only on commit(); otherwise it is removed, so a failed compile
/// leaves nothing behind.
class StagingDir {
public:
  StagingDir() = default;
  ~StagingDir();
  bool create(const std::string &outDir, std::string &error);
  const std::string &path() const { return tmp; }
  std::string file(const std::string &name) const { return tmp + "/" + name; }
  bool commit(std::string &error);

private:
  std::string out, tmp;
  bool committed = false;
};

/// The same fingerprint as the weights blob's, of a whole file (for the
/// manifest's record of the compile's inputs).
bool hashFile(const std::string &path, uint64_t &hash, uint64_t &bytes,
              std::string &error);

/// Writes the weights blob (each weight at its blobOffset, zero padding) and
/// returns its fingerprint (the hash hy_weights_hash computes at load). The
/// `repacked` ranges (lowbit-pack-weights' choices) are written in their
/// target layout (Q2_0C rows interleaved in tiles of tileRows, as
/// schedules/include/hyk/kernels.h defines Q2_0C/r8); each must cover whole
/// weights.
bool writeWeightsBlob(const ImportedModel &model, const std::vector<RepackedRange> &repacked,
                      const std::string &path, uint64_t &hash, std::string &error);

/// Converts `rows` rows of Q2_0C (`rowBytes` each) from `src` into the
/// row-interleaved layout with `tileRows` rows per tile at `dst` (the same
/// size); rows must be a multiple of tileRows.
void interleaveQ2_0CRows(const uint8_t *src, uint8_t *dst, int64_t rows, int64_t rowBytes,
                         int64_t tileRows);

/// The Halide target string (without -no_runtime) the kernels of kernel ISA
/// `kernelIsa` are generated for, or "" if this build has none.
std::string halideTargetForIsa(const std::string &kernelIsa);
/// The Halide generator executable of this build (hyk_halide_generators).
std::string halideGeneratorPath();

/// Runs the Halide generator for every tuned kernel variant, writing
/// `<dir>/<symbol>.o`; `objects` receives their paths.
bool generateKernelVariants(const std::vector<KernelVariant> &variants,
                            const TargetInfo &target, const std::string &dir,
                            std::vector<std::string> &objects, std::string &error);

/// Writes a static archive of the glue object, the extra (variant) objects
/// and every member of the target's kernel archive, in the BSD/Darwin
/// format (with its __.SYMDEF table, as Apple's linker wants) if `darwin`,
/// else the GNU one.
bool writeStaticLibrary(const std::string &path, const std::string &glueName,
                        const std::string &glueObject,
                        const std::vector<std::string> &extraObjects,
                        const std::string &kernelArchive, bool darwin, std::string &error);

/// Links the glue object, extra objects and kernel archive into a shared
/// library with the target's C compiler driver `linker` (TargetInfo::linker).
bool linkSharedLibrary(const std::string &path, const std::string &glueObjectPath,
                       const std::vector<std::string> &extraObjects,
                       const std::string &kernelArchive, const std::string &linker,
                       std::string &error);

/// Assembles an object exporting the weights blob file as the read-only
/// symbol `symbol` (64-byte aligned), with the target's C driver.
bool assembleEmbeddedWeights(const std::string &blobPath, const std::string &symbol,
                             int64_t bytes, const TargetInfo &target,
                             const std::string &objectPath, std::string &error);

/// Writes hy_model.h (declarations of the library's symbols) and hy_abi.h.
bool writeHeaders(const std::string &dir, const std::string &name,
                  const ImportedModel &model, bool embeddedWeights,
                  std::string &error);

bool writeFile(const std::string &path, const std::string &contents,
               std::string &error);
} // namespace hyc

#endif // HYC_PACKAGE_H
