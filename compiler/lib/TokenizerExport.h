//===- TokenizerExport.h - NAME.tokenizer from a GGUF file's metadata -----===//
//
// The runtime tokenizes with a compact binary file the compiler writes next to
// the weights blob (format: runtime/include/hy/hy_tokenizer_file.h). It holds
// the vocabulary as raw bytes (GPT-2's byte-to-unicode spelling undone), the
// merges as id triples, the special ids, and the chat template's pieces.
//
//===----------------------------------------------------------------------===//
#ifndef HYC_TOKENIZEREXPORT_H
#define HYC_TOKENIZEREXPORT_H

#include <cstdint>
#include <string>

namespace hyc {
namespace gguf {
class GGUFFile;
} // namespace gguf

/// Writes `path` from the tokenizer.* metadata of `file` (a byte-level BPE
/// "gpt2" tokenizer with the hunyuan-dense / deepseek-v3 pre-split). The
/// vocabulary must have `expectedVocab` tokens (the model's n_vocab). Returns
/// false with a message naming the key and the problem when metadata is
/// missing or malformed.
bool exportTokenizer(const gguf::GGUFFile &file, int64_t expectedVocab,
                     const std::string &path, std::string &error);
} // namespace hyc

#endif // HYC_TOKENIZEREXPORT_H
