/* hy_tokenizer_file.h - the NAME.tokenizer file hyc writes and the runtime reads.
 *
 * Written by compiler/lib/TokenizerExport.cpp from a GGUF file's tokenizer.*
 * metadata, read by runtime/src/tokenizer.c. Everything is little-endian and
 * packed (no padding); a reader must check every count against the bytes that
 * remain. Any change to the layout bumps HY_TOKENIZER_FILE_VERSION.
 *
 *   char     magic[8]        "HYTOKEN\0"
 *   u32      version         HY_TOKENIZER_FILE_VERSION
 *   u32      pre_split       HY_PRE_SPLIT_* (how text is cut before BPE)
 *   u32      n_tokens
 *   u32      n_merges
 *   i32      bos_id, eos_id, pad_id          (-1: none)
 *   u32      n_eog;  i32 eog[n_eog]          tokens that end generation
 *   n_tokens x { u8 type; u32 len; u8 bytes[len] }
 *            type: the GGUF token type (1 normal, 2 unknown, 3 control,
 *            4 user-defined, 5 unused, 6 byte); bytes: what the token stands
 *            for (GPT-2 byte-to-unicode spelling already undone); control and
 *            user-defined tokens are "special": matched in text before BPE.
 *   n_merges x { i32 left; i32 right; i32 result }
 *            BPE merges, best (lowest rank) first; result is the token id of
 *            left's bytes followed by right's.
 *   u32      n_chat          0 (no chat template) or HY_CHAT_N_STRINGS
 *   n_chat x { u32 len; u8 bytes[len] }   indexed by HY_CHAT_*
 *   u64      checksum        FNV-1a 64 (byte-wise) of every byte before it
 */
#ifndef HY_TOKENIZER_FILE_H_
#define HY_TOKENIZER_FILE_H_

#define HY_TOKENIZER_FILE_MAGIC "HYTOKEN" /* plus its NUL: 8 bytes */
#define HY_TOKENIZER_FILE_VERSION 1

/** Pre-split rules (tokenizer.ggml.pre). */
enum {
  /** DeepSeek-V3 / hunyuan-dense: digit runs of 1-3, CJK runs, then the
   *  GPT-like letters / punctuation / whitespace pattern. */
  HY_PRE_SPLIT_DEEPSEEK_V3 = 1,
};

/** GGUF token types the runtime distinguishes. */
enum {
  HY_TOKEN_TYPE_NORMAL = 1,
  HY_TOKEN_TYPE_CONTROL = 3,
  HY_TOKEN_TYPE_USER_DEFINED = 4,
};

/** The chat template's pieces, in file order. The runtime renders:
 *  BOS [SYSTEM_PREFIX system SYSTEM_SUFFIX] then per turn
 *  USER_PREFIX user USER_SUFFIX  or  ASSISTANT_PREFIX reply ASSISTANT_SUFFIX,
 *  then ASSISTANT_PREFIX [THINK_EMPTY] as the generation prompt. */
enum {
  HY_CHAT_BOS = 0,
  HY_CHAT_SYSTEM_PREFIX = 1,
  HY_CHAT_SYSTEM_SUFFIX = 2,
  HY_CHAT_USER_PREFIX = 3,
  HY_CHAT_USER_SUFFIX = 4,
  HY_CHAT_ASSISTANT_PREFIX = 5,
  HY_CHAT_ASSISTANT_SUFFIX = 6,
  HY_CHAT_THINK_EMPTY = 7,     /* "<think>\n\n</think>\n" */
  HY_CHAT_THINK_OPEN = 8,      /* "<think>" */
  HY_CHAT_THINK_CLOSE = 9,     /* "</think>" */
  HY_CHAT_MARK_THINK = 10,     /* "/think" */
  HY_CHAT_MARK_NO_THINK = 11,  /* "/no_think" */
  HY_CHAT_N_STRINGS = 12,
};

#endif /* HY_TOKENIZER_FILE_H_ */
