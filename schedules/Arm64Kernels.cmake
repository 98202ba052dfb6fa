# schedules/Arm64Kernels.cmake - libhyk_arm64.a, the AArch64 kernel archive
# (included by schedules/CMakeLists.txt when "neon" is in HYC_TARGETS).
#
# Everything here is cross-built with explicit commands, not with the host C
# toolchain: the Halide generators (host executables) write AArch64 objects,
# clang --target=aarch64-linux-gnu compiles the C shims, llvm-ar archives the
# lot. Members (all PIC, position-independent ELF64 AArch64):
#   gemv_q2_0c_neon.o, gemv_q8_0_neon.o   the int8-dot-product generators
#                                         (gemv_*_i8dot) for HYK_NEON_TARGET
#   hyk_halide_runtime_arm64.o            one Halide runtime for arm-64-linux
#   attention_{decode,prefill}[_f16|_q8_0]_neon.o the attention generators (f32 / f16 / Q8_0 KV cache)
#   Q2_0CGemvShim.o, EntryPointsNeon.o, ParallelHook.o, AttentionShim.o
#                                         the flat C ABI
#   Q2_0CI8mmGemm.o                       the smmla prefill GEMM (ACLE, +i8mm)
#
# Exported to the rest of the build (cache, INTERNAL):
#   HYC_AARCH64_CC, HYC_AARCH64_CFLAGS   how to compile and link C for aarch64
#                                        (tests/ cross-build their drivers so)
#   HYC_LLVM_OBJDUMP                     for the disassembly tests
#   HYC_QEMU_AARCH64                     runs the AArch64 tests (-cpu max)
#   HYK_ARM64_ARCHIVE                    the archive's path

# Halide target of the `neon` kernel ISA: ARMv8.2 dot product (sdot/udot).
# Halide 21 has no i8mm (smmla/usdot) feature, so there is no neon_i8mm
# variant; the fp16 scale conversion is emulated without arm_fp16 (a few
# instructions per block), which keeps the kernels valid on every dotprod CPU.
set(HYK_NEON_TARGET "arm-64-linux-arm_dot_prod")
# hyc compile runs the generator for tuned schedules (also set by the x86 part)
# and hyc tune for candidates; the neon entry of the ISA -> Halide target map
# (joined with the x86 part's HYC_HALIDE_ISA_TARGETS in compiler/lib). The
# tuning database names kernel families; kernelGenerator() maps them to the
# _i8dot generators.
set(HYC_HALIDE_GENERATOR "$<TARGET_FILE:hyk_halide_generators>" CACHE INTERNAL "")
set(HYC_HALIDE_ISA_TARGETS_ARM64 "neon=${HYK_NEON_TARGET}" CACHE INTERNAL "")

find_program(HYC_AARCH64_CC NAMES clang-22 HINTS /usr/lib/llvm-22/bin
  DOC "clang used to cross-compile C for aarch64-linux-gnu")
find_program(HYC_LLVM_AR NAMES llvm-ar-22 llvm-ar HINTS /usr/lib/llvm-22/bin)
find_program(HYC_LLVM_OBJDUMP NAMES llvm-objdump-22 llvm-objdump HINTS /usr/lib/llvm-22/bin)
set(HYC_AARCH64_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH
  "AArch64 glibc sysroot (Debian libc6-dev-arm64-cross)")
if(NOT HYC_AARCH64_CC OR NOT HYC_LLVM_AR OR NOT HYC_LLVM_OBJDUMP
   OR NOT EXISTS "${HYC_AARCH64_SYSROOT}/include/stdio.h")
  message(FATAL_ERROR
    "hyc: 'neon' is in HYC_TARGETS but the AArch64 cross tools are missing "
    "(clang-22: ${HYC_AARCH64_CC}, llvm-ar-22: ${HYC_LLVM_AR}, llvm-objdump-22: "
    "${HYC_LLVM_OBJDUMP}, sysroot headers in ${HYC_AARCH64_SYSROOT}). Run "
    "scripts/setup, or configure with -DHYC_TARGETS=x86.")
endif()
set(HYC_AARCH64_CFLAGS --target=aarch64-linux-gnu -fPIC -O2 -std=c11
  CACHE INTERNAL "clang flags for AArch64 C (compile and link)")
# The tests run AArch64 programs on this static qemu (>= 11) from scripts/setup;
# they fail, not skip, when it is missing.
set(HYC_QEMU_AARCH64 "${PROJECT_SOURCE_DIR}/.tools/qemu/usr/bin/qemu-aarch64" CACHE FILEPATH
  "qemu-aarch64 (11.x or newer) that runs the AArch64 tests")

set(_arm64_dir "${CMAKE_CURRENT_BINARY_DIR}/arm64")
file(MAKE_DIRECTORY "${_arm64_dir}")
set(_arm64_objects "")

# ---- Halide pipelines and runtime ---------------------------------------------
foreach(_format q2_0c q8_0)
  set(_name gemv_${_format}_neon)
  add_custom_command(
    OUTPUT "${_arm64_dir}/${_name}.o" "${_arm64_dir}/${_name}.h"
    COMMAND hyk_halide_generators -g gemv_${_format}_i8dot -f ${_name}
            -e object,c_header -o "${_arm64_dir}" target=${HYK_NEON_TARGET}-no_runtime
    DEPENDS hyk_halide_generators
    COMMENT "Generating ${_name} (Halide, ${HYK_NEON_TARGET})"
    VERBATIM)
  list(APPEND _arm64_objects "${_arm64_dir}/${_name}.o")
endforeach()

# Attention: one query (decode) and several (prefill), over a float32, a
# float16 and a Q8_0 KV cache (see CMakeLists.txt).
foreach(_form decode prefill)
  foreach(_cache f32 f16 q8_0)
    if(_cache STREQUAL "f32")
      set(_name attention_${_form}_neon)
      set(_type float32)
    elseif(_cache STREQUAL "f16")
      set(_name attention_${_form}_f16_neon)
      set(_type float16)
    else()
      set(_name attention_${_form}_q8_0_neon)
      set(_type uint8)
    endif()
    add_custom_command(
      OUTPUT "${_arm64_dir}/${_name}.o" "${_arm64_dir}/${_name}.h"
      COMMAND hyk_halide_generators -g attention_${_form} -f ${_name}
              -e object,c_header -o "${_arm64_dir}" target=${HYK_NEON_TARGET}-no_runtime
              k.type=${_type} v.type=${_type}
      DEPENDS hyk_halide_generators
      COMMENT "Generating ${_name} (Halide, ${HYK_NEON_TARGET})"
      VERBATIM)
    list(APPEND _arm64_objects "${_arm64_dir}/${_name}.o")
  endforeach()
endforeach()

add_custom_command(
  OUTPUT "${_arm64_dir}/hyk_halide_runtime_arm64.o"
  COMMAND hyk_halide_generators -r hyk_halide_runtime_arm64 -e object
          -o "${_arm64_dir}" target=arm-64-linux
  DEPENDS hyk_halide_generators
  COMMENT "Generating the Halide runtime for arm-64-linux"
  VERBATIM)
list(APPEND _arm64_objects "${_arm64_dir}/hyk_halide_runtime_arm64.o")

# ---- C shims ------------------------------------------------------------------------
foreach(_src gemv/Q2_0CGemvShim gemv/EntryPointsNeon gemv/ParallelHook attention/AttentionShim)
  get_filename_component(_base "${_src}" NAME)
  set(_obj "${_arm64_dir}/${_base}.o")
  add_custom_command(
    OUTPUT "${_obj}"
    COMMAND "${HYC_AARCH64_CC}" ${HYC_AARCH64_CFLAGS} -Wall -Wextra -Werror
            "-I${CMAKE_CURRENT_SOURCE_DIR}/include" "-I${_arm64_dir}"
            "-I${HYC_HALIDE_INCLUDE_DIR}" "-I${CMAKE_CURRENT_SOURCE_DIR}/attention"
            "-I${CMAKE_CURRENT_SOURCE_DIR}/gemv"
            -MD -MF "${_obj}.d"
            -c "${CMAKE_CURRENT_SOURCE_DIR}/${_src}.c" -o "${_obj}"
    DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${_src}.c"
            "${_arm64_dir}/gemv_q2_0c_neon.h" "${_arm64_dir}/gemv_q8_0_neon.h"
            "${_arm64_dir}/attention_decode_neon.h" "${_arm64_dir}/attention_prefill_neon.h"
            "${_arm64_dir}/attention_decode_f16_neon.h"
            "${_arm64_dir}/attention_prefill_f16_neon.h"
            "${_arm64_dir}/attention_decode_q8_0_neon.h"
            "${_arm64_dir}/attention_prefill_q8_0_neon.h"
    DEPFILE "${_obj}.d"
    COMMENT "Compiling ${_base}.c for aarch64"
    VERBATIM)
  list(APPEND _arm64_objects "${_obj}")
endforeach()

# The i8mm prefill GEMM: ACLE NEON with smmla, the only object built for
# +i8mm (hyk_gemm_q2_0c_neon calls it after checking HWCAP2_I8MM).
set(_obj "${_arm64_dir}/Q2_0CI8mmGemm.o")
add_custom_command(
  OUTPUT "${_obj}"
  COMMAND "${HYC_AARCH64_CC}" ${HYC_AARCH64_CFLAGS} -march=armv8.2-a+dotprod+i8mm
          -Wall -Wextra -Werror
          "-I${CMAKE_CURRENT_SOURCE_DIR}/include" "-I${HYC_HALIDE_INCLUDE_DIR}"
          -MD -MF "${_obj}.d"
          -c "${CMAKE_CURRENT_SOURCE_DIR}/gemm/Q2_0CI8mmGemm.c" -o "${_obj}"
  DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/gemm/Q2_0CI8mmGemm.c"
  DEPFILE "${_obj}.d"
  COMMENT "Compiling Q2_0CI8mmGemm.c for aarch64 (+i8mm)"
  VERBATIM)
list(APPEND _arm64_objects "${_obj}")

# ---- The archive -------------------------------------------------------------------
set(HYK_ARM64_ARCHIVE "${HYC_LIB_DIR}/libhyk_arm64.a" CACHE INTERNAL "")
add_custom_command(
  OUTPUT "${HYK_ARM64_ARCHIVE}"
  COMMAND "${CMAKE_COMMAND}" -E rm -f "${HYK_ARM64_ARCHIVE}"
  # D: deterministic (zero timestamps/uids), so rebuilds are byte-identical.
  COMMAND "${HYC_LLVM_AR}" rcsD "${HYK_ARM64_ARCHIVE}" ${_arm64_objects}
  DEPENDS ${_arm64_objects}
  COMMENT "Archiving libhyk_arm64.a"
  VERBATIM)
add_custom_target(hyk_arm64 ALL DEPENDS "${HYK_ARM64_ARCHIVE}")

# ---- libhyk_sme2.a: the aarch64-sme2 kernel ISA ---------------------------------
# Every libhyk_arm64.a member (an SME2 CPU has NEON + dotprod: the Q8_0 lm_head
# and attention stay the neon pipelines) plus the SME2 Q2_0C GEMV/GEMM, the
# _sme2 names of the neon entry points and the SME ABI support routine. The SME2
# code is C with the ACLE SME2 intrinsics, compiled by clang-22 (gcc 12 knows no
# +sme); HYC_SME2_CFLAGS is the architecture it assumes.
set(HYC_SME2_CFLAGS -march=armv9-a+sme2 CACHE INTERNAL "clang flags for SME2 code")
set(_sme2_objects "")
foreach(_src sme2/Q2_0CSme2.c sme2/EntryPointsSme2.c sme2/SmeAbi.S)
  get_filename_component(_base "${_src}" NAME_WE)
  set(_obj "${_arm64_dir}/${_base}.o")
  add_custom_command(
    OUTPUT "${_obj}"
    COMMAND "${HYC_AARCH64_CC}" ${HYC_AARCH64_CFLAGS} ${HYC_SME2_CFLAGS}
            -Wall -Wextra -Werror
            "-I${CMAKE_CURRENT_SOURCE_DIR}/include" "-I${HYC_HALIDE_INCLUDE_DIR}"
            -MD -MF "${_obj}.d"
            -c "${CMAKE_CURRENT_SOURCE_DIR}/${_src}" -o "${_obj}"
    DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${_src}"
            "${CMAKE_CURRENT_SOURCE_DIR}/include/hyk/kernels.h"
    DEPFILE "${_obj}.d"
    COMMENT "Compiling ${_base} for aarch64 SME2"
    VERBATIM)
  list(APPEND _sme2_objects "${_obj}")
endforeach()
set(HYK_SME2_ARCHIVE "${HYC_LIB_DIR}/libhyk_sme2.a" CACHE INTERNAL "")
add_custom_command(
  OUTPUT "${HYK_SME2_ARCHIVE}"
  COMMAND "${CMAKE_COMMAND}" -E rm -f "${HYK_SME2_ARCHIVE}"
  COMMAND "${HYC_LLVM_AR}" rcsD "${HYK_SME2_ARCHIVE}" ${_arm64_objects} ${_sme2_objects}
  DEPENDS ${_arm64_objects} ${_sme2_objects}
  COMMENT "Archiving libhyk_sme2.a"
  VERBATIM)
add_custom_target(hyk_sme2 ALL DEPENDS "${HYK_SME2_ARCHIVE}")
