# cmake/aarch64-linux-gnu.cmake - a CMake toolchain file for building C programs
# (the hy runtime, examples/embed, your application) for 64-bit Arm Linux with
# glibc on this x86 machine: clang-22 --target=aarch64-linux-gnu with Debian's
# cross sysroot (libc6-dev-arm64-cross, gcc-aarch64-linux-gnu) and lld, as
# scripts/setup installs them.
#
#   cmake -S examples/embed -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DHY_MODEL_DIR=out-arm
#
# Run the result on the device, or here under .tools/qemu/usr/bin/qemu-aarch64
# -cpu max -L /usr/aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
find_program(HY_AARCH64_CLANG NAMES clang-22 HINTS /usr/lib/llvm-22/bin REQUIRED)
set(CMAKE_C_COMPILER "${HY_AARCH64_CLANG}")
set(CMAKE_C_COMPILER_TARGET aarch64-linux-gnu)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
