//===- KernelTestSupport.h - helpers shared by the kernel unit tests ------===//
//
// CPU feature checks for the kernel variants, fp16 decoding written from the
// IEEE format, and guarded buffers: inputs that end right before a PROT_NONE
// page and outputs between sentinel zones, pre-filled with NaN.
//
//===----------------------------------------------------------------------===//
#ifndef HYC_TESTS_UNIT_KERNELS_KERNELTESTSUPPORT_H
#define HYC_TESTS_UNIT_KERNELS_KERNELTESTSUPPORT_H

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace hyk_test {

/// What the avx2 kernel variants' Halide target requires of the CPU.
inline bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
         __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
         __builtin_cpu_supports("sse4.1");
}

/// What the avx512 variants require: they are built for Halide's avx512_zen4
/// feature set.
inline bool CpuHasAvx512Zen4() {
  return CpuHasAvx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512bf16") &&
         __builtin_cpu_supports("avx512vbmi") &&
         __builtin_cpu_supports("avx512vbmi2") &&
         __builtin_cpu_supports("avx512bitalg") &&
         __builtin_cpu_supports("avx512vpopcntdq") &&
         __builtin_cpu_supports("avx512ifma");
}

// IEEE 754 binary16 -> float, written from the format definition.
inline float HalfToFloat(uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double v;
  if (exponent == 0) {
    v = std::ldexp(static_cast<double>(mantissa), -24); // zero / subnormal
  } else if (exponent == 31) {
    v = mantissa ? std::numeric_limits<double>::quiet_NaN()
                 : std::numeric_limits<double>::infinity();
  } else {
    v = std::ldexp(static_cast<double>(mantissa | 0x400), exponent - 25);
  }
  return static_cast<float>(sign ? -v : v);
}

// kernels.h's int8 rounding of one activation group: with m = max |x| over
// the `count` elements element(0..count), s = m * (1.0f / 127) and q =
// nearbyint(x * (127.0f / m)) (round half to even; 0 if m = 0), all float32;
// writes q * s (in double) to xq at the same indices.
template <typename Element>
void RoundGroupInt8(const float *x, Element element, int count, double *xq) {
  float m = 0.0f;
  for (int i = 0; i < count; ++i)
    m = std::fmax(m, std::fabs(x[element(i)]));
  const float s = m * (1.0f / 127), inv = m > 0.0f ? 127.0f / m : 0.0f;
  for (int i = 0; i < count; ++i) {
    const auto e = element(i);
    xq[e] = static_cast<double>(std::nearbyint(x[e] * inv)) * static_cast<double>(s);
  }
}

// A GEMM test shape: n rows of W, k weights per row, m activation rows.
struct GemmShape {
  int64_t n, k, m;
};
inline void PrintTo(const GemmShape &s, std::ostream *os) {
  *os << "n=" << s.n << " k=" << s.k << " m=" << s.m;
}
inline std::string ShapeName(const GemmShape &s) {
  return "n" + std::to_string(s.n) + "_k" + std::to_string(s.k) + "_m" + std::to_string(s.m);
}
/// Every n in {1, 3, 17, 65} x k in {512, 1536} x m in `ms`, then `extra`.
inline std::vector<GemmShape> GemmShapes(std::initializer_list<int64_t> ms,
                                         std::initializer_list<GemmShape> extra) {
  std::vector<GemmShape> shapes;
  for (int64_t n : {1, 3, 17, 65})
    for (int64_t k : {512, 1536})
      for (int64_t m : ms)
        shapes.push_back({n, k, m});
  shapes.insert(shapes.end(), extra);
  return shapes;
}

// Exactly `bytes` bytes of read-write memory immediately followed by a
// PROT_NONE page: reading one byte past the end faults.
class GuardedBuffer {
public:
  explicit GuardedBuffer(size_t bytes) : bytes_(bytes) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data_pages = (bytes + page_ - 1) / page_;
    map_bytes_ = (data_pages + 1) * page_;
    void *p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      map_ = nullptr;
      return;
    }
    map_ = static_cast<uint8_t *>(p);
    uint8_t *guard = map_ + data_pages * page_;
    if (mprotect(guard, page_, PROT_NONE) != 0) {
      munmap(map_, map_bytes_);
      map_ = nullptr;
      return;
    }
    data_ = guard - bytes;
  }
  ~GuardedBuffer() {
    if (map_)
      munmap(map_, map_bytes_);
  }
  GuardedBuffer(const GuardedBuffer &) = delete;
  GuardedBuffer &operator=(const GuardedBuffer &) = delete;

  bool ok() const { return map_ != nullptr; }
  uint8_t *data() const { return data_; }
  size_t size() const { return bytes_; }

private:
  size_t bytes_ = 0, page_ = 0, map_bytes_ = 0;
  uint8_t *map_ = nullptr;
  uint8_t *data_ = nullptr;
};

// y with 64 sentinel bytes on each side.
class GuardedOutput {
public:
  static constexpr size_t kGuardBytes = 64;
  static constexpr uint8_t kSentinel = 0xA5;

  explicit GuardedOutput(int64_t n)
      : n_(n),
        storage_(2 * kGuardBytes + static_cast<size_t>(n) * sizeof(float),
                 kSentinel) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int64_t i = 0; i < n_; ++i)
      std::memcpy(y() + i, &nan, sizeof(float));
  }
  float *y() {
    return reinterpret_cast<float *>(storage_.data() + kGuardBytes);
  }
  float at(int64_t i) const {
    float v;
    std::memcpy(&v, storage_.data() + kGuardBytes + i * sizeof(float),
                sizeof(float));
    return v;
  }
  bool GuardsIntact() const {
    const size_t tail = kGuardBytes + static_cast<size_t>(n_) * sizeof(float);
    for (size_t i = 0; i < kGuardBytes; ++i) {
      if (storage_[i] != kSentinel || storage_[tail + i] != kSentinel)
        return false;
    }
    return true;
  }

private:
  int64_t n_;
  std::vector<uint8_t>
      storage_; // float-aligned: kGuardBytes is a multiple of 4
};

} // namespace hyk_test

#endif // HYC_TESTS_UNIT_KERNELS_KERNELTESTSUPPORT_H
