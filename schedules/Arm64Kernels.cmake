# schedules/Arm64Kernels.cmake - the AArch64 kernel archives (included by
# schedules/CMakeLists.txt when "neon" is in HYC_TARGETS):
#   libhyk_arm64.a, libhyk_sme2.a               Linux (ELF), targets aarch64-neon/-sme2
#   libhyk_arm64_macos.a, libhyk_sme2_macos.a   macOS (Mach-O), when "macos" is in
#                                               HYC_TARGETS too: aarch64-neon-macos/-sme2-macos
#
# Everything here is cross-built with explicit commands, not with the host C
# toolchain: the Halide generators (host executables) write AArch64 objects,
# clang --target=aarch64-linux-gnu (or zig's clang for macOS) compiles the C,
# llvm-ar archives the lot. The members: see hyk_arm64_kernel_archives below.
#
# Exported to the rest of the build (cache, INTERNAL):
#   HYC_AARCH64_CC, HYC_AARCH64_CFLAGS   how to compile and link C for aarch64
#                                        (tests/ cross-build their drivers so)
#   HYC_LLVM_OBJDUMP                     for the disassembly tests
#   HYC_QEMU_AARCH64                     runs the AArch64 tests (-cpu max)
#   HYK_ARM64_ARCHIVE, HYK_SME2_ARCHIVE  the Linux archives' paths
#   HYC_ZIG, HYC_MACOS_CC                zig, and how to compile C for arm64 macOS

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

# HYC_SME2_CFLAGS is the architecture the SME2 code assumes (Linux; the macOS
# build says the same in zig's -mcpu terms). No SVE outside streaming mode
# (+nosve): Apple's M4 has SME2 but no SVE, so a compiler that auto-vectorized
# the non-streaming helpers with SVE (armv9-a implies SVE2) would fault there;
# the streaming code still gets streaming SVE from +sme. Without SVE, clang
# records the vector granule for the unwinder through __arm_get_current_vg, one
# more SME ABI routine bookworm's libgcc lacks; the kernels are C and never
# unwound through, so they carry no unwind tables.
set(HYC_SME2_CFLAGS -march=armv9-a+sme2+nosve -fno-asynchronous-unwind-tables -fno-unwind-tables
  CACHE INTERNAL "clang flags for SME2 code")

# hyk_arm64_kernel_archives([SUFFIX s] HALIDE_OS os AR_FORMAT fmt CC cmd...
#                           I8MM_FLAGS f... SME2_FLAGS f...)
# builds libhyk_arm64<s>.a (target hyk_arm64<s>) and libhyk_sme2<s>.a (target
# hyk_sme2<s>) in HYC_LIB_DIR from the same sources, for Halide's `os` (linux or
# osx), compiling C with `CC` (a command line: compiler and target flags).
#
# libhyk_arm64<s>.a members:
#   gemv_q2_0c_neon.o, gemv_q8_0_neon.o   the int8-dot-product generators
#                                         (gemv_*_i8dot) for HYK_NEON_TARGET
#   gemv_q2_k_neon.o, gemv_tq2_0_neon.o   ggml's 2-bit formats (float GEMVs)
#   hyk_halide_runtime_arm64.o            one Halide runtime for arm-64-<os>
#   attention_{decode,prefill}[_f16|_q8_0]_neon.o the attention generators
#   {rms_norm,rope,swiglu}_neon.o         the ops between the matmuls
#   Q2_0CGemvShim.o, EntryPointsNeon.o, ParallelHook.o, AttentionShim.o,
#   PointwiseShim.o                       the flat C ABI
#   Q2_0CI8mmGemm.o                       the smmla prefill GEMM (ACLE, +i8mm)
# libhyk_sme2<s>.a: every libhyk_arm64<s>.a member (an SME2 CPU has NEON +
# dotprod: the Q8_0 lm_head and attention stay the neon pipelines) plus the SME2
# Q2_0C GEMV/GEMM (C with the ACLE SME2 intrinsics; gcc 12 knows no +sme), the
# _sme2 names of the neon entry points and the SME ABI support routine.
function(hyk_arm64_kernel_archives)
  cmake_parse_arguments(PARSE_ARGV 0 A "" "SUFFIX;HALIDE_OS;AR_FORMAT" "CC;I8MM_FLAGS;SME2_FLAGS")
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/arm64${A_SUFFIX}")
  file(MAKE_DIRECTORY "${dir}")
  string(REPLACE "-linux" "-${A_HALIDE_OS}" neon_target "${HYK_NEON_TARGET}")
  set(objects "")
  set(headers "")

  # ---- Halide pipelines and runtime --------------------------------------------
  # generate(<function name> <generator> [generator params...]): one pipeline
  # object and its header, for the neon target of this OS.
  macro(generate name generator)
    add_custom_command(
      OUTPUT "${dir}/${name}.o" "${dir}/${name}.h"
      COMMAND hyk_halide_generators -g ${generator} -f ${name}
              -e object,c_header -o "${dir}" target=${neon_target}-no_runtime ${ARGN}
      DEPENDS hyk_halide_generators
      COMMENT "Generating ${name} (Halide, ${neon_target})"
      VERBATIM)
    list(APPEND objects "${dir}/${name}.o")
    list(APPEND headers "${dir}/${name}.h")
  endmacro()
  # Q2_0C and Q8_0: the int8-dot-product generators (gemv_*_i8dot); ggml's
  # Q2_K and TQ2_0: the float generators (K2GemvGenerator.cpp).
  foreach(format q2_0c q8_0)
    generate(gemv_${format}_neon gemv_${format}_i8dot)
  endforeach()
  foreach(format q2_k tq2_0)
    generate(gemv_${format}_neon gemv_${format})
  endforeach()
  # Attention: one query (decode) and several (prefill), over a float32, a
  # float16 and a Q8_0 KV cache (see CMakeLists.txt).
  foreach(form decode prefill)
    generate(attention_${form}_neon attention_${form} k.type=float32 v.type=float32)
    generate(attention_${form}_f16_neon attention_${form} k.type=float16 v.type=float16)
    generate(attention_${form}_q8_0_neon attention_${form} k.type=uint8 v.type=uint8)
  endforeach()
  # rms_norm, rope and swiglu (the ops between the matmuls).
  foreach(op rms_norm rope swiglu)
    generate(${op}_neon ${op})
  endforeach()
  add_custom_command(
    OUTPUT "${dir}/hyk_halide_runtime_arm64.o"
    COMMAND hyk_halide_generators -r hyk_halide_runtime_arm64 -e object
            -o "${dir}" target=arm-64-${A_HALIDE_OS}
    DEPENDS hyk_halide_generators
    COMMENT "Generating the Halide runtime for arm-64-${A_HALIDE_OS}"
    VERBATIM)
  list(APPEND objects "${dir}/hyk_halide_runtime_arm64.o")

  # ---- C: the shims, the i8mm GEMM, the SME2 code ------------------------------------
  # hyk_arm64_c(<source> <object list var> <extra flags>...)
  macro(hyk_arm64_c src list)
    get_filename_component(base "${src}" NAME_WE)
    set(obj "${dir}/${base}.o")
    add_custom_command(
      OUTPUT "${obj}"
      COMMAND ${A_CC} ${ARGN} -Wall -Wextra -Werror
              "-I${CMAKE_CURRENT_SOURCE_DIR}/include" "-I${dir}"
              "-I${HYC_HALIDE_INCLUDE_DIR}" "-I${CMAKE_CURRENT_SOURCE_DIR}/attention"
              "-I${CMAKE_CURRENT_SOURCE_DIR}/gemv" "-I${CMAKE_CURRENT_SOURCE_DIR}/pointwise"
              -MD -MF "${obj}.d"
              -c "${CMAKE_CURRENT_SOURCE_DIR}/${src}" -o "${obj}"
      DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${src}"
              "${CMAKE_CURRENT_SOURCE_DIR}/include/hyk/kernels.h" ${headers}
      DEPFILE "${obj}.d"
      COMMENT "Compiling ${base} for aarch64${A_SUFFIX}"
      VERBATIM)
    list(APPEND ${list} "${obj}")
  endmacro()
  foreach(src gemv/Q2_0CGemvShim.c gemv/EntryPointsNeon.c gemv/ParallelHook.c
              attention/AttentionShim.c pointwise/PointwiseShim.c)
    hyk_arm64_c(${src} objects)
  endforeach()
  # The i8mm prefill GEMM, the only object built for +i8mm (hyk_gemm_q2_0c_neon
  # calls it after asking the CPU: HWCAP2_I8MM on Linux, sysctl on macOS).
  hyk_arm64_c(gemm/Q2_0CI8mmGemm.c objects ${A_I8MM_FLAGS})
  set(sme2_objects "")
  foreach(src sme2/Q2_0CSme2.c sme2/EntryPointsSme2.c sme2/SmeAbi.S)
    hyk_arm64_c(${src} sme2_objects ${A_SME2_FLAGS})
  endforeach()

  # ---- The archives ------------------------------------------------------------------
  # llvm-ar D: deterministic (zero timestamps/uids), so rebuilds are byte-identical.
  foreach(kind arm64 sme2)
    set(archive "${HYC_LIB_DIR}/libhyk_${kind}${A_SUFFIX}.a")
    set(members ${objects})
    if(kind STREQUAL "sme2")
      list(APPEND members ${sme2_objects})
    endif()
    add_custom_command(
      OUTPUT "${archive}"
      COMMAND "${CMAKE_COMMAND}" -E rm -f "${archive}"
      COMMAND "${HYC_LLVM_AR}" --format=${A_AR_FORMAT} rcsD "${archive}" ${members}
      DEPENDS ${members}
      COMMENT "Archiving libhyk_${kind}${A_SUFFIX}.a"
      VERBATIM)
    add_custom_target(hyk_${kind}${A_SUFFIX} ALL DEPENDS "${archive}")
  endforeach()
endfunction()

# Linux (ELF, glibc): aarch64-neon and aarch64-sme2.
hyk_arm64_kernel_archives(HALIDE_OS linux AR_FORMAT gnu
  CC "${HYC_AARCH64_CC}" ${HYC_AARCH64_CFLAGS}
  I8MM_FLAGS -march=armv8.2-a+dotprod+i8mm
  SME2_FLAGS ${HYC_SME2_CFLAGS})
set(HYK_ARM64_ARCHIVE "${HYC_LIB_DIR}/libhyk_arm64.a" CACHE INTERNAL "")
set(HYK_SME2_ARCHIVE "${HYC_LIB_DIR}/libhyk_sme2.a" CACHE INTERNAL "")

# macOS (Mach-O, Apple silicon): aarch64-neon-macos and aarch64-sme2-macos. C is
# compiled by zig's clang (PyPI's ziglang, in the venv), which carries the macOS
# libc headers and libSystem stubs, so no Apple SDK is needed here; the tests
# also link Mach-O programs with it.
if("macos" IN_LIST HYC_TARGETS)
  execute_process(
    COMMAND "${HYC_PYTHON}" -c
            "import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))"
    OUTPUT_VARIABLE _zig OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0 OR NOT EXISTS "${_zig}")
    message(FATAL_ERROR
      "hyc: 'macos' is in HYC_TARGETS but ${HYC_PYTHON} has no ziglang package (zig "
      "builds the macOS kernels). Run scripts/setup, or drop macos from HYC_TARGETS.")
  endif()
  set(HYC_ZIG "${_zig}" CACHE INTERNAL "zig (PyPI ziglang): C for macOS")
  # zig keeps its caches under the build tree, not in $HOME.
  set(HYC_MACOS_CC "${CMAKE_COMMAND}" -E env "ZIG_GLOBAL_CACHE_DIR=${CMAKE_BINARY_DIR}/zig-cache"
      "ZIG_LOCAL_CACHE_DIR=${CMAKE_BINARY_DIR}/zig-cache" "${HYC_ZIG}" cc
      -target aarch64-macos.14.0 -O2 -std=c11
      CACHE INTERNAL "how to compile and link C for arm64 macOS")
  hyk_arm64_kernel_archives(SUFFIX _macos HALIDE_OS osx AR_FORMAT darwin
    CC ${HYC_MACOS_CC}
    I8MM_FLAGS -mcpu=generic+dotprod+i8mm
    SME2_FLAGS -mcpu=generic+sme2 -fno-asynchronous-unwind-tables -fno-unwind-tables)
endif()
