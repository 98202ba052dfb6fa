//===- LowBitTypes.td - lowbit dialect types ---------------*- tablegen -*-===//

#ifndef HYC_DIALECT_LOWBIT_TYPES
#define HYC_DIALECT_LOWBIT_TYPES

include "hyc/Dialect/LowBit/LowBitBase.td"

class LowBit_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<LowBit_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def LowBit_PackedType : LowBit_Type<"Packed", "packed"> {
  let summary = "a weight matrix stored in a packed (possibly low-bit) format";
  let description = [{
    A logical `rows x cols` weight matrix (`cols` is the reduction dimension:
    a row is what one output element dots with the activation vector) stored
    row after row in `format`. Quantized formats group each row into blocks
    of `block` weights; `scales` says where their dequantization scales live.

    Q2_0C: blocks of 512 weights, each `{ f16 d; u8 qs[128] }` (130 bytes,
    2.03 bits per weight); weight i of a block is code
    `c = (qs[i / 4] >> 2 * (i % 4)) & 3` with value `(2c - 3) * d`.

    Q8_0: blocks of 32 weights, each `{ f16 d; i8 qs[32] }` (34 bytes); weight
    i is `qs[i] * d`. Used for embedding tables (and the tied lm_head).

    Q2_K (ggml's, 2.625 bits per weight): blocks of 256 weights, each
    `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }` (84 bytes, scale layout
    `u4_sub_f16_super`); weight i = 128h + 32j + l (h < 2, j < 4, l < 32)
    has code `c = (qs[32h + l] >> 2j) & 3` and, with `s = scales[i / 16]`,
    value `d * (s & 15) * c - dmin * (s >> 4)`.

    TQ2_0 (ggml's ternary format, 2.06 bits per weight): blocks of 256,
    `{ u8 qs[64]; f16 d }` (66 bytes, scale layout `f16_after_codes`); codes
    packed as in Q2_K, value `(c - 1) * d`.

    Q2_K and TQ2_0 matmuls run on float-activation GEMV kernels on x86
    (gemv_q2_k, gemv_tq2_0); elsewhere convert-lowbit-to-loops decodes them
    element by element (correct, slow).

    Target-repacked layouts: `tile_rows = R` (R > 1, Q2_0C only, R divides
    `rows`) says the bytes are not stored row after row but regrouped for a
    kernel that computes R rows at once: tiles of R consecutive rows, each
    tile first the R x nb block scales (block-major: row `i` of the tile,
    block `b` at scale slot `R b + i`), then the R x nb 128-byte code runs
    in the same order, nb = cols / 512 (hyk/kernels.h, "Q2_0C/r8"). The
    matrix occupies the same bytes as in the source format; only
    `lowbit-pack-weights` creates such types, and the weights blob is
    written after it, in the layout the types say. Omitted, R = 1: the
    source file's row-major layout.

    Example:

    ```mlir
    !lowbit.packed<q8_0, 120818x2048, block = 32, scales = f16_per_block>
    !lowbit.packed<q2_0c, 6144x2048, block = 512, scales = f16_per_block>
    !lowbit.packed<f16, 120818x2048>
    !lowbit.packed<q2_k, 6144x2048, block = 256, scales = u4_sub_f16_super>
    !lowbit.packed<tq2_0, 6144x2048, block = 256, scales = f16_after_codes>
    !lowbit.packed<q2_0c, 6144x2048, block = 512, scales = f16_per_block, tile_rows = 8>
    ```
  }];
  let parameters = (ins
    "::hyc::lowbit::WeightFormat":$format,
    "int64_t":$rows,
    "int64_t":$cols,
    "int64_t":$blockSize,
    "::hyc::lowbit::ScaleLayout":$scales,
    "int64_t":$tileRows);
  let builders = [
    // The source layout (rows stored one after another).
    TypeBuilder<(ins "::hyc::lowbit::WeightFormat":$format, "int64_t":$rows,
                     "int64_t":$cols, "int64_t":$blockSize,
                     "::hyc::lowbit::ScaleLayout":$scales), [{
      return $_get($_ctxt, format, rows, cols, blockSize, scales, 1);
    }]>,
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes one row occupies in this format.
    int64_t getRowBytes() const;
    /// Bytes of the whole matrix.
    int64_t getTotalBytes() const { return getRows() * getRowBytes(); }
    /// True for formats whose values are block-quantized codes.
    bool isQuantized() const;
    /// True when the bytes are in a target-repacked layout (tile_rows > 1).
    bool isRepacked() const { return getTileRows() > 1; }
    /// The same matrix with `tileRows` rows per tile (1: the source layout).
    PackedType withTileRows(int64_t tileRows) const;
  }];
}

#endif // HYC_DIALECT_LOWBIT_TYPES
