//===- LowBitTypes.cpp - !lowbit.packed parsing, printing and verification ===//
#include "hyc/Dialect/LowBit/LowBit.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cstdio>

using namespace mlir;
using namespace hyc::lowbit;

namespace hyc::lowbit {
int64_t requiredBlockSize(WeightFormat format) {
  switch (format) {
  case WeightFormat::Q2_0C:
    return 512;
  case WeightFormat::Q8_0:
    return 32;
  case WeightFormat::Q2_K:
  case WeightFormat::TQ2_0:
    return 256;
  default:
    return 1;
  }
}
int64_t blockBytes(WeightFormat format) {
  switch (format) {
  case WeightFormat::F32:
    return 4;
  case WeightFormat::F16:
    return 2;
  case WeightFormat::Q2_0C:
    return 130; // f16 scale + 512 two-bit codes
  case WeightFormat::Q8_0:
    return 34; // f16 scale + 32 int8 codes
  case WeightFormat::Q2_K:
    return 84; // 16 u4 scale/min pairs, 256 two-bit codes, f16 d and dmin
  case WeightFormat::TQ2_0:
    return 66; // 256 two-bit codes, then the f16 scale
  }
  return 0;
}
ScaleLayout requiredScaleLayout(WeightFormat format) {
  switch (format) {
  case WeightFormat::Q2_0C:
  case WeightFormat::Q8_0:
    return ScaleLayout::F16PerBlock;
  case WeightFormat::TQ2_0:
    return ScaleLayout::F16AfterCodes;
  case WeightFormat::Q2_K:
    return ScaleLayout::U4SubF16Super;
  default:
    return ScaleLayout::None;
  }
}
std::string kernelVariantName(llvm::StringRef kernel, llvm::StringRef isa,
                              llvm::StringRef schedule) {
  uint32_t h = 2166136261u; // FNV-1a 32 of the schedule string
  for (char c : schedule)
    h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return ("hyk_v_" + kernel + "_" + isa + "_s").str() + hex;
}
bool isBlockQuantized(WeightFormat format) {
  return format == WeightFormat::Q2_0C || format == WeightFormat::Q8_0 ||
         format == WeightFormat::Q2_K || format == WeightFormat::TQ2_0;
}
} // namespace hyc::lowbit

int64_t PackedType::getRowBytes() const {
  return getCols() / getBlockSize() * blockBytes(getFormat());
}

bool PackedType::isQuantized() const { return isBlockQuantized(getFormat()); }

PackedType PackedType::withTileRows(int64_t tileRows) const {
  return get(getContext(), getFormat(), getRows(), getCols(), getBlockSize(), getScales(),
             tileRows);
}

LogicalResult
PackedType::verify(function_ref<InFlightDiagnostic()> emitError,
                   WeightFormat format, int64_t rows, int64_t cols,
                   int64_t blockSize, ScaleLayout scales, int64_t tileRows) {
  if (rows <= 0 || cols <= 0)
    return emitError() << "packed weight shape must be positive, got " << rows
                       << "x" << cols;
  int64_t want = requiredBlockSize(format);
  if (blockSize != want)
    return emitError() << "format " << stringifyWeightFormat(format)
                       << " requires block size " << want << ", got "
                       << blockSize;
  if (cols % blockSize != 0)
    return emitError() << "row length " << cols
                       << " is not a multiple of the "
                       << stringifyWeightFormat(format) << " block size "
                       << blockSize;
  if (scales != requiredScaleLayout(format))
    return emitError() << "format " << stringifyWeightFormat(format)
                       << " requires scale layout "
                       << stringifyScaleLayout(requiredScaleLayout(format))
                       << ", got " << stringifyScaleLayout(scales);
  if (tileRows < 1)
    return emitError() << "tile_rows must be positive, got " << tileRows;
  if (tileRows > 1 && format != WeightFormat::Q2_0C)
    return emitError() << "tile_rows (a row-interleaved layout) is defined for q2_0c only, not "
                       << stringifyWeightFormat(format);
  if (rows % tileRows != 0)
    return emitError() << "rows " << rows << " are not a multiple of tile_rows " << tileRows;
  return success();
}

// !lowbit.packed<FORMAT, ROWSxCOLS[, block = B][, scales = S][, tile_rows = R]>
// block and scales default to what the format requires and are printed only
// for quantized formats; tile_rows defaults to 1 and is printed only above.
Type PackedType::parse(AsmParser &parser) {
  StringRef formatName;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&formatName))
    return {};
  std::optional<WeightFormat> format = symbolizeWeightFormat(formatName);
  if (!format) {
    parser.emitError(loc) << "unknown packed weight format '" << formatName
                          << "' (expected f32, f16, q2_0c, q8_0, q2_k or tq2_0)";
    return {};
  }
  SmallVector<int64_t, 2> dims;
  if (parser.parseComma() ||
      parser.parseDimensionList(dims, /*allowDynamic=*/false,
                                /*withTrailingX=*/false))
    return {};
  if (dims.size() != 2) {
    parser.emitError(loc) << "packed weights must be 2-D (ROWSxCOLS), got "
                          << dims.size() << " dimensions";
    return {};
  }
  int64_t blockSize = requiredBlockSize(*format);
  ScaleLayout scales = requiredScaleLayout(*format);
  int64_t tileRows = 1;
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (key == "block") {
      if (parser.parseInteger(blockSize))
        return {};
    } else if (key == "scales") {
      StringRef name;
      SMLoc valueLoc = parser.getCurrentLocation();
      if (parser.parseKeyword(&name))
        return {};
      std::optional<ScaleLayout> layout = symbolizeScaleLayout(name);
      if (!layout) {
        parser.emitError(valueLoc) << "unknown scale layout '" << name << "'";
        return {};
      }
      scales = *layout;
    } else if (key == "tile_rows") {
      if (parser.parseInteger(tileRows))
        return {};
    } else {
      parser.emitError(keyLoc) << "unknown packed type parameter '" << key
                               << "' (expected block, scales or tile_rows)";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<PackedType>(loc, parser.getContext(), *format,
                                       dims[0], dims[1], blockSize, scales, tileRows);
}

void PackedType::print(AsmPrinter &printer) const {
  printer << "<" << stringifyWeightFormat(getFormat()) << ", " << getRows()
          << "x" << getCols();
  if (isQuantized())
    printer << ", block = " << getBlockSize()
            << ", scales = " << stringifyScaleLayout(getScales());
  if (isRepacked())
    printer << ", tile_rows = " << getTileRows();
  printer << ">";
}
