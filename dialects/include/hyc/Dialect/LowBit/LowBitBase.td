//===- LowBitBase.td - lowbit dialect definition and enums -*- tablegen -*-===//
//
// The lowbit dialect: packed low-bit weight types and the ops of a decoder-only
// LLM step, as hyc's importers emit them and its passes lower them.
//
//===----------------------------------------------------------------------===//

#ifndef HYC_DIALECT_LOWBIT_BASE
#define HYC_DIALECT_LOWBIT_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def LowBit_Dialect : Dialect {
  let name = "lowbit";
  let cppNamespace = "::hyc::lowbit";
  let summary = "Low-bit (2-bit) weight formats and LLM decode ops";
  let description = [{
    The `lowbit` dialect models a quantized decoder-only transformer at the
    level where the weight *format* still matters: weights are values of the
    `!lowbit.packed` type, which names the storage format (for example the
    130-byte Q2_0C block of 512 two-bit codes with one fp16 scale), the
    logical matrix shape and the scale layout. Activations are ordinary f32
    memrefs; ops follow destination-passing style (they write into an output
    memref) so that memory planning is explicit in the IR.

    Weights never travel through attributes: `lowbit.weight` names a tensor
    and its byte offset inside the weights blob that the compiled library
    memory-maps at run time.
  }];
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def LowBit_WeightFormat : I32EnumAttr<"WeightFormat",
    "storage format of a packed weight matrix", [
      I32EnumAttrCase<"F32", 0, "f32">,
      I32EnumAttrCase<"F16", 1, "f16">,
      I32EnumAttrCase<"Q2_0C", 2, "q2_0c">,
      I32EnumAttrCase<"Q8_0", 3, "q8_0">,
      I32EnumAttrCase<"Q2_K", 4, "q2_k">,
      I32EnumAttrCase<"TQ2_0", 5, "tq2_0">,
    ]> {
  let cppNamespace = "::hyc::lowbit";
  let genSpecializedAttr = 0;
}

def LowBit_ScaleLayout : I32EnumAttr<"ScaleLayout",
    "where the dequantization scales of a packed weight matrix live", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"F16PerBlock", 1, "f16_per_block">,
      I32EnumAttrCase<"F16AfterCodes", 2, "f16_after_codes">,
      I32EnumAttrCase<"U4SubF16Super", 3, "u4_sub_f16_super">,
    ]> {
  let cppNamespace = "::hyc::lowbit";
  let genSpecializedAttr = 0;
}

#endif // HYC_DIALECT_LOWBIT_BASE
