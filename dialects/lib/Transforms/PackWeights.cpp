//===- PackWeights.cpp - weights into the layout of the kernels that read them ===//
//
// A weight's bytes come from the source file in that format's row-major
// layout. Where every matmul that reads a weight runs on a kernel with a
// faster layout of its own, this pass gives the weight that layout's type
// (`tile_rows = R`, see !lowbit.packed) and records the byte range in the
// module attribute `lowbit.repacked_weights`; the driver writes the weights
// blob after the pass, converting those ranges (hyc::writeWeightsBlob).
//
// Weight ops are grouped by the blob bytes they cover: the decode step and
// the prefill chunk each name the same tensors, and a fused q/k/v weight
// covers three tensors that another function may name one by one. A group
// is repacked only as a whole, when every op in it qualifies and every op's
// range starts and ends on the group's tile grid, so each byte is converted
// once and every reader agrees on its layout.
//
//===----------------------------------------------------------------------===//

#include "hyc/Dialect/LowBit/LowBit.h"
#include "hyc/Dialect/LowBit/Passes.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <vector>

namespace hyc::lowbit {
#define GEN_PASS_DEF_PACKWEIGHTSPASS
#include "hyc/Dialect/LowBit/Passes.h.inc"
} // namespace hyc::lowbit

using namespace mlir;
using namespace hyc::lowbit;

namespace {

/// Rows per tile of the layout the kernel `family` reads on `isa`, or 0 when
/// it has no repacked layout (schedules/include/hyk/kernels.h: Q2_0C/r8 for
/// the AVX-512 VNNI kernels over pre-quantized activations).
int64_t tileRowsFor(StringRef family, StringRef isa) {
  if (isa == "avx512" && (family == "gemv_q2_0c_a8" || family == "gemm_q2_0c_a8"))
    return kQ2_0CKernelTileRows;
  return 0;
}

/// The tile rows `op`'s weight can be repacked to, or 0: it is plain Q2_0C
/// and every user is a qmatmul with a default-schedule kernel that reads
/// that layout (the same one for all users).
int64_t candidateTileRows(WeightOp op, StringRef isa) {
  PackedType t = op.getType();
  if (t.getFormat() != WeightFormat::Q2_0C || t.isRepacked() || op->use_empty())
    return 0;
  int64_t rows = 0;
  for (Operation *user : op->getUsers()) {
    auto qm = dyn_cast<QuantizedMatmulOp>(user);
    if (!qm || qm.getWeight() != op.getResult())
      return 0;
    auto kernel = qm->getAttrOfType<StringAttr>("hyc.kernel");
    auto schedule = qm->getAttrOfType<StringAttr>("hyc.schedule");
    if (!kernel || (schedule && schedule.getValue() != "default"))
      return 0;
    int64_t r = tileRowsFor(kernel.getValue(), isa);
    if (r == 0 || (rows != 0 && r != rows))
      return 0;
    rows = r;
  }
  return t.getRows() % rows == 0 ? rows : 0;
}

struct Range {
  int64_t begin, end;
  WeightOp op;
};

struct PackWeights : public hyc::lowbit::impl::PackWeightsPassBase<PackWeights> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<Range> ranges;
    module.walk([&](WeightOp op) {
      ranges.push_back({op.getOffset(), op.getOffset() + op.getType().getTotalBytes(), op});
    });
    std::stable_sort(ranges.begin(), ranges.end(),
                     [](const Range &a, const Range &b) { return a.begin < b.begin; });

    Builder b(&getContext());
    SmallVector<Attribute> recorded;
    if (auto old = module->getAttrOfType<ArrayAttr>("lowbit.repacked_weights"))
      recorded.append(old.begin(), old.end());
    size_t before = recorded.size();
    // Groups of overlapping ranges, in blob order.
    for (size_t i = 0; i < ranges.size();) {
      size_t j = i + 1;
      int64_t end = ranges[i].end;
      while (j < ranges.size() && ranges[j].begin < end)
        end = std::max(end, ranges[j++].end);
      int64_t begin = ranges[i].begin;
      int64_t rows = candidateTileRows(ranges[i].op, kernelIsa);
      int64_t rowBytes = ranges[i].op.getType().getRowBytes();
      bool ok = rows > 0;
      for (size_t r = i; ok && r < j; ++r) {
        PackedType t = ranges[r].op.getType();
        int64_t tile = rows * rowBytes;
        ok = candidateTileRows(ranges[r].op, kernelIsa) == rows && t.getRowBytes() == rowBytes &&
             (ranges[r].begin - begin) % tile == 0 && (ranges[r].end - begin) % tile == 0;
      }
      if (ok) {
        for (size_t r = i; r < j; ++r)
          ranges[r].op.getResult().setType(ranges[r].op.getType().withTileRows(rows));
        NamedAttribute fields[] = {
            b.getNamedAttr("offset", b.getI64IntegerAttr(begin)),
            b.getNamedAttr("bytes", b.getI64IntegerAttr(end - begin)),
            b.getNamedAttr("row_bytes", b.getI64IntegerAttr(rowBytes)),
            b.getNamedAttr("tile_rows", b.getI64IntegerAttr(rows)),
            b.getNamedAttr("format", b.getStringAttr("q2_0c")),
        };
        recorded.push_back(b.getDictionaryAttr(fields));
      }
      i = j;
    }
    if (recorded.size() != before)
      module->setAttr("lowbit.repacked_weights", b.getArrayAttr(recorded));
  }
};

} // namespace
