// Blocked matrix product for training-size shapes (loadNativeBlockedGemm in src/engine/kernels-native.ts):
//   C[M,N] = alpha op(A) op(B) + beta C, row-major, any of the four transpose cases.
// The usual blocking: K in slices of kKc; in each slice every work item takes Mc rows of C and a
// chunk of its columns and runs the register-blocked kernel over them, Mr rows by Nr columns at a
// time (a Tile). Operands that are not transposed are read in place; transposed ones (and partial
// panels at the edges) are first packed into panels, op(B)'s once per slice for all items. The kernel
// keeps an Mr x Nr tile of C in vector registers while it walks k.
// Every element of C is summed in the same order (k slice by slice, k ascending within a slice)
// however the items are spread over threads, so results do not depend on the thread count.
// Products of few rows against one B many times over (the LSTM's recurrent weight) take op(B) packed
// once, whole (pack_b), and run the same kernel over it (gemm_packed): the same sums, so the same bits.
// An epilogue (ChannelMix's relu^2 or its derivative) runs on each tile of C as the last k slice stores it,
// instead of as a pass of its own over an [N, F] activation that has left the cache by then.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "activation.h"
#include "kernels.h"
#include "pool.h"

namespace rm {
namespace {

// A register tile of C is kept in vector registers while the kernel walks k: Mr rows by Nv vectors of
// kLanes floats. Work items take Mc rows of C. With AVX-512 there are two, each using 24 of the 32
// registers: 6 x 64 (WideTile) and 8 x 48 (TallTile). A product takes the one whose column panels
// pad N less (the models' widths 512 and 2,048 are whole panels of 64; the 88 keys fit 96 columns
// better than 128), and the products against a packed B take 8 x 48 (the LSTM's recurrent products
// have 32 rows, whole panels of 8); each choice ran 1.04-1.3x as fast as the other tile
// (docs/decisions.md §16). With AVX2 both are 6 x 16 (12 of 16 registers of 8 floats, the rest for
// B's two vectors and the broadcast of A). Without either the addon reports no wide vectors and the
// GEMM is not used (addon.cc: wideVectorBits).
#ifdef __AVX512F__
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
template <int kRows, int kVectors, int kItemRows>
struct Tile {
  static constexpr int Mr = kRows;             // rows of a register tile
  static constexpr int Nv = kVectors;          // vectors across it
  static constexpr int Nr = kVectors * kLanes;  // its columns
  static constexpr int Mc = kItemRows;         // rows of C per work item
  static_assert(Mc % Mr == 0, "A blocks are whole panels");
};
#ifdef __AVX512F__
using WideTile = Tile<6, 4, 66>;
using TallTile = Tile<8, 3, 64>;
using ShortTile = Tile<4, 3, 64>;  // TallTile's column panels, half its rows
#else
using WideTile = Tile<6, 2, 60>;
using TallTile = WideTile;
using ShortTile = Tile<3, 2, 60>;
#endif
typedef float vf __attribute__((vector_size(kLanes * sizeof(float))));

// Column panels of tile T that cover N columns, and those columns once padded to whole panels.
template <class T>
constexpr int panels(int N) {
  return (N + T::Nr - 1) / T::Nr;
}
template <class T>
constexpr int padded(int N) {
  return panels<T>(N) * T::Nr;
}
constexpr int kKc = 512;               // k slice
constexpr int kPackedItemsPerThread = 6;  // work items of a product against a packed B, at least, per thread

inline vf load(const float* p) {
  vf x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
inline void store(float* p, vf x) { std::memcpy(p, &x, sizeof x); }

// A grow-only, 64-byte aligned buffer owned by one thread.
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, ((want * sizeof(float) + 63) / 64) * 64));
      n = want;
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};

struct Operands {
  bool ta, tb;
  int M, N, K;
  float alpha, beta;
  const float* A;
  const float* B;
  float* C;
  GemmEpilogue then;
};

// op(A)[m, k] for rows m0.. of one panel, k in [k0, k0 + kc), as kc groups of kMr (rows past M are 0).
template <class T>
void pack_a_panel(const Operands& o, int m0, int k0, int kc, float* dst) {
  constexpr int kMr = T::Mr;
  const int rows = std::min(kMr, o.M - m0);
  if (o.ta) {  // A stored [K, M]: each k's kMr values are contiguous
    if (rows == kMr) {  // a fixed-size copy per k (the element loop below: TN 512x512x4096 4% slower)
      const float* src = o.A + static_cast<int64_t>(k0) * o.M + m0;
      for (int k = 0; k < kc; k++, src += o.M) std::memcpy(dst + static_cast<int64_t>(k) * kMr, src, sizeof(float) * kMr);
      return;
    }
    for (int k = 0; k < kc; k++) {
      const float* src = o.A + static_cast<int64_t>(k0 + k) * o.M + m0;
      float* d = dst + static_cast<int64_t>(k) * kMr;
      int i = 0;
      for (; i < rows; i++) d[i] = src[i];
      for (; i < kMr; i++) d[i] = 0;
    }
    return;
  }
  for (int i = 0; i < kMr; i++) {  // A stored [M, K]
    if (i < rows) {
      const float* src = o.A + static_cast<int64_t>(m0 + i) * o.K + k0;
      for (int k = 0; k < kc; k++) dst[static_cast<int64_t>(k) * kMr + i] = src[k];
    } else {
      for (int k = 0; k < kc; k++) dst[static_cast<int64_t>(k) * kMr + i] = 0;
    }
  }
}

// op(B)[k, n] for k in [k0, k0 + kc), columns n0.. of one panel, as kc rows of kNr (columns past N are 0).
template <class T>
void pack_b_panel(const Operands& o, int n0, int k0, int kc, float* dst) {
  constexpr int kNr = T::Nr;
  const int cols = std::min(kNr, o.N - n0);
  if (!o.tb) {  // B stored [K, N]: each k's columns are contiguous
    for (int k = 0; k < kc; k++) {
      const float* src = o.B + static_cast<int64_t>(k0 + k) * o.N + n0;
      float* d = dst + static_cast<int64_t>(k) * kNr;
      std::memcpy(d, src, sizeof(float) * cols);
      if (cols < kNr) std::memset(d + cols, 0, sizeof(float) * (kNr - cols));
    }
  } else {  // B stored [N, K]
    for (int j = 0; j < kNr; j++) {
      if (j < cols) {
        const float* src = o.B + static_cast<int64_t>(n0 + j) * o.K + k0;
        for (int k = 0; k < kc; k++) dst[static_cast<int64_t>(k) * kNr + j] = src[k];
      } else {
        for (int k = 0; k < kc; k++) dst[static_cast<int64_t>(k) * kNr + j] = 0;
      }
    }
  }
}

// One register tile: C[rows, cols] = alpha * sum_k op(A)[i, k] op(B)[k, j] + beta * C (beta == 0: C not
// read). A is a packed panel (kMr values per k) or, when kADirect, kMr rows of A read in place (row i at
// a + i * lda); B is a packed panel or kc rows of B read in place, ldb apart.
// With an epilogue (`kind`, on the last k slice of a product that has one) each element is transformed
// before it is stored; `squares` is then the tile's own corner of the squares, ldc apart like C.
template <class T, bool kADirect>
void kernel(int kc, const float* __restrict a, int64_t lda, const float* __restrict b, int64_t ldb, float* C,
            int64_t ldc, int rows, int cols, float alpha, float beta,
            GemmEpilogue::Kind kind = GemmEpilogue::kNone, const float* squares = nullptr) {
  constexpr int kMr = T::Mr, kNv = T::Nv, kNr = T::Nr;
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < kNv; j++) __builtin_prefetch(C + i * ldc + j * kLanes, 1, 3);
  vf acc[kMr][kNv] = {};
  const float* ar[kMr];
  for (int i = 0; i < kMr; i++) ar[i] = a + (kADirect ? i * lda : i);
  for (int k = 0; k < kc; k++) {
    vf bv[kNv];
    for (int j = 0; j < kNv; j++) bv[j] = load(b + j * kLanes);
    for (int i = 0; i < kMr; i++) {
      const float ai = kADirect ? ar[i][k] : ar[i][k * kMr];
      for (int j = 0; j < kNv; j++) acc[i][j] += ai * bv[j];
    }
    b += ldb;
  }
  if (rows == kMr && cols == kNr) {
    for (int i = 0; i < kMr; i++) {
      float* c = C + i * ldc;
      for (int j = 0; j < kNv; j++) {
        float* p = c + j * kLanes;
        vf v = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * load(p);
        if (kind == GemmEpilogue::kReluSquare) v = relu_square(v);
        else if (kind == GemmEpilogue::kReluSquareGrad) v = relu_square_grad(v, load(squares + i * ldc + j * kLanes));
        store(p, v);
      }
    }
    return;
  }
  alignas(64) float tile[kMr][kNr];
  for (int i = 0; i < kMr; i++)
    for (int j = 0; j < kNv; j++) store(&tile[i][j * kLanes], acc[i][j]);
  for (int i = 0; i < rows; i++) {
    float* c = C + i * ldc;
    for (int j = 0; j < cols; j++) c[j] = beta == 0 ? alpha * tile[i][j] : alpha * tile[i][j] + beta * c[j];
    // (separate loops: with the epilogue's choice inside, the one above is not vectorized, and the
    // products with a partial column panel, the 88 keys', ran 2-4x slower)
    if (kind == GemmEpilogue::kReluSquare)
      for (int j = 0; j < cols; j++) c[j] = relu_square(c[j]);
    else if (kind == GemmEpilogue::kReluSquareGrad)
      for (int j = 0; j < cols; j++) c[j] = relu_square_grad(c[j], squares[i * ldc + j]);
  }
}

// The epilogue over all of C[M,N] (for the products with nothing to sum, whose C is only scaled).
void apply_epilogue(const GemmEpilogue& then, float* __restrict C, int M, int N) {
  const int64_t n = static_cast<int64_t>(M) * N;
  if (then.kind == GemmEpilogue::kReluSquare) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) C[i] = relu_square(C[i]);
  } else {
    const float* __restrict sq = then.squares;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) C[i] = relu_square_grad(C[i], sq[i]);
  }
}

// Whether a panel is read in place: A not transposed (row panels) and B not transposed (column
// panels) are, except a last partial panel, which is packed with zeros past the edge, and B's panels
// when its rows are kBWideRow floats or longer: a panel walk then touches a new 4 KB page at every k
// (NN 4096x2048x512 in the RWKV step: 298 GFLOP/s read in place, 352 packed). (Packing narrower
// operands too measured no faster with them fresh from memory, as in a training step.) With AVX2 every
// op(B) is packed: a panel of 512 rows read in place (32 KB) and A's panel do not fit a 32 KB L1
// together, and packed, the products at the RWKV step's shapes ran 1.2-1.5x as fast (docs/decisions.md §15).
#ifdef __AVX512F__
constexpr int kBWideRow = 1024;
#else
constexpr int kBWideRow = 0;
#endif
template <class T>
inline bool a_direct(const Operands& o, int r0) { return !o.ta && r0 + T::Mr <= o.M; }
inline bool b_packs_all(const Operands& o) { return o.tb || o.N >= kBWideRow; }
template <class T>
inline bool b_direct(const Operands& o, int n0) { return !b_packs_all(o) && n0 + T::Nr <= o.N; }

// The A panel of tile T at row r0 for a k slice: packed into dst unless the kernel reads it in place.
template <class T>
void prepare_a_panel(const Operands& o, int r0, int k0, int kc, float* dst) {
  if (!a_direct<T>(o, r0)) pack_a_panel<T>(o, r0, k0, kc, dst);
}

// One register tile of C at row r0, column n0, over a k slice: A in place or from its packed panel
// (prepare_a_panel), B the kc rows of a panel ldb apart.
// On the last k slice the kernel applies the epilogue, if any, as it stores the tile.
template <class T>
void tile_product(const Operands& o, int r0, int k0, int kc, const float* a_packed, const float* b, int64_t ldb, int n0,
                  int cols, float beta) {
  const int64_t offset = static_cast<int64_t>(r0) * o.N + n0;
  float* c = o.C + offset;
  const int rows = std::min(T::Mr, o.M - r0);
  const GemmEpilogue::Kind kind = k0 + kc == o.K ? o.then.kind : GemmEpilogue::kNone;
  const float* squares = kind == GemmEpilogue::kReluSquareGrad ? o.then.squares + offset : nullptr;
  if (squares)  // in flight while the kernel runs (without: the backward product 13% slower, with: 8%)
    for (int i = 0; i < rows; i++)
      for (int j = 0; j < cols; j += 64 / static_cast<int>(sizeof(float))) __builtin_prefetch(squares + i * o.N + j, 0, 3);
  if (a_direct<T>(o, r0))
    kernel<T, true>(kc, o.A + static_cast<int64_t>(r0) * o.K + k0, o.K, b, ldb, c, o.N, rows, cols, o.alpha, beta, kind, squares);
  else
    kernel<T, false>(kc, a_packed, 0, b, ldb, c, o.N, rows, cols, o.alpha, beta, kind, squares);
}

struct Slice {
  const Operands* o;
  int k0, kc;
  float beta;
  const float* bpack;  // column panels of this k slice that are not read in place
  int m_blocks, panels_per_chunk, n_panels;
};

// Rows [m0, m0 + rows) of C in row block mb of m_blocks: whole panels of Mr rows, shared out as evenly as
// they go (the first blocks one panel more), so that the threads' shares of a product with few blocks
// differ by at most a panel (512 rows in blocks of 66 could leave one thread 248 of them, the other 264).
struct RowBlock {
  int m0, rows;
};
template <class T>
RowBlock row_block(int M, int m_blocks, int mb) {
  const int panels = (M + T::Mr - 1) / T::Mr, base = panels / m_blocks, extra = panels % m_blocks;
  const int first = mb * base + std::min(mb, extra), count = base + (mb < extra ? 1 : 0);
  const int m0 = first * T::Mr;
  return {m0, std::min(M, m0 + count * T::Mr) - m0};
}

// One work item: one row block of C (at most Mc rows) against one chunk of column panels.
template <class T>
void run_item(const Slice& s, int item) {
  constexpr int kMr = T::Mr, kNr = T::Nr;
  const Operands& o = *s.o;
  const int mb = item % s.m_blocks, chunk = item / s.m_blocks;
  const RowBlock rb = row_block<T>(o.M, s.m_blocks, mb);
  const int m0 = rb.m0, mc = rb.rows;
  const int a_panels = (mc + kMr - 1) / kMr;
  thread_local Scratch apack_buf;
  float* apack = apack_buf.get(static_cast<size_t>(a_panels) * kMr * s.kc);
  for (int p = 0; p < a_panels; p++) prepare_a_panel<T>(o, m0 + p * kMr, s.k0, s.kc, apack + static_cast<int64_t>(p) * kMr * s.kc);
  const int q0 = chunk * s.panels_per_chunk, q1 = std::min(s.n_panels, q0 + s.panels_per_chunk);
  for (int q = q0; q < q1; q++) {
    const int n0 = q * kNr, cols = std::min(kNr, o.N - n0);
    const bool bd = b_direct<T>(o, n0);
    const float* bp = bd ? o.B + static_cast<int64_t>(s.k0) * o.N + n0 : s.bpack + static_cast<int64_t>(q) * s.kc * kNr;
    const int64_t ldb = bd ? o.N : kNr;
    for (int p = 0; p < a_panels; p++)
      tile_product<T>(o, m0 + p * kMr, s.k0, s.kc, apack + static_cast<int64_t>(p) * kMr * s.kc, bp, ldb, n0, cols, s.beta);
  }
}

void scale_c(float* C, int64_t n, float beta) {
  if (beta == 0)
    std::memset(C, 0, sizeof(float) * n);
  else if (beta != 1)
    for (int64_t i = 0; i < n; i++) C[i] *= beta;
}

// One work item of gemm_packed: one row block of C against column panels [q0, q1), every k slice.
// A panel of at most S::Mr rows (the bundled LSTM's batch of 4) runs the short tile over the same
// column panels of B: half the multiply-adds, and 4 rows are read in place instead of packed.
void run_packed_item(const Operands& o, const float* bp, RowBlock rb, int q0, int q1) {
  using T = TallTile;
  using S = ShortTile;
  constexpr int kMr = T::Mr, kNr = T::Nr;
  const int m0 = rb.m0, mc = rb.rows;
  const int a_panels = (mc + kMr - 1) / kMr;
  const auto is_short = [&](int r0) { return o.M - r0 <= S::Mr; };
  thread_local Scratch apack_buf;
  for (int k0 = 0; k0 < o.K; k0 += kKc) {
    const int kc = std::min(kKc, o.K - k0);
    const float b = k0 == 0 ? o.beta : 1.0f;
    float* apack = apack_buf.get(static_cast<size_t>(a_panels) * kMr * kc);
    for (int p = 0; p < a_panels; p++) {
      const int r0 = m0 + p * kMr;
      float* dst = apack + static_cast<int64_t>(p) * kMr * kc;
      if (is_short(r0)) prepare_a_panel<S>(o, r0, k0, kc, dst);
      else prepare_a_panel<T>(o, r0, k0, kc, dst);
    }
    for (int q = q0; q < q1; q++) {
      const int n0 = q * kNr, cols = std::min(kNr, o.N - n0);
      const float* panel = bp + (static_cast<int64_t>(q) * o.K + k0) * kNr;
      for (int p = 0; p < a_panels; p++) {
        const int r0 = m0 + p * kMr;
        const float* a_packed = apack + static_cast<int64_t>(p) * kMr * kc;
        if (is_short(r0)) tile_product<S>(o, r0, k0, kc, a_packed, panel, kNr, n0, cols, b);
        else tile_product<T>(o, r0, k0, kc, a_packed, panel, kNr, n0, cols, b);
      }
    }
  }
}

// Column panels per work item, and how many such chunks, for at least `min_items` items in all.
struct ColumnChunks {
  int per_chunk, count;
};
ColumnChunks column_chunks(int n_panels, int m_blocks, int min_items) {
  const int wanted = std::min(n_panels, std::max(1, (min_items + m_blocks - 1) / m_blocks));
  const int per_chunk = (n_panels + wanted - 1) / wanted;
  return {per_chunk, (n_panels + per_chunk - 1) / per_chunk};
}

// The products with nothing to sum (C only scaled by beta, or nothing to do): true when handled.
bool without_sums(int M, int N, int K, float alpha, float beta, float* C) {
  if (M <= 0 || N <= 0) return true;
  if (K > 0 && alpha != 0) return false;
  scale_c(C, static_cast<int64_t>(M) * N, beta);
  return true;
}

template <class T>
void gemm_tiled(const Operands& o) {
  constexpr int kNr = T::Nr, kMc = T::Mc;
  const int M = o.M, N = o.N, K = o.K;
  const float beta = o.beta;
  const int n_panels = panels<T>(N);
  const int m_blocks = (M + kMc - 1) / kMc;
  // At least two items per thread where the shape allows, so that each thread stays busy when another
  // is held up; no more, since every column chunk of a row block packs that block's op(A) again.
  const ColumnChunks chunks = column_chunks(n_panels, m_blocks, 2 * pool_threads());
  thread_local Scratch bpack_buf;
  float* bpack = bpack_buf.get(static_cast<size_t>(n_panels) * kNr * std::min(K, kKc));
  // Otherwise only a last partial panel is packed, if any: no pool hand-off for nothing.
  const bool packs_b = b_packs_all(o) || N % kNr != 0;
  for (int k0 = 0; k0 < K; k0 += kKc) {
    const int kc = std::min(kKc, K - k0);
    if (packs_b)
      parallel_for(n_panels, static_cast<size_t>(kc) * N, [&](int q) {
        if (!b_direct<T>(o, q * kNr)) pack_b_panel<T>(o, q * kNr, k0, kc, bpack + static_cast<int64_t>(q) * kc * kNr);
      });
    const Slice s{&o, k0, kc, k0 == 0 ? beta : 1.0f, bpack, m_blocks, chunks.per_chunk, n_panels};
    parallel_for(m_blocks * chunks.count, static_cast<size_t>(M) * N * kc / 16, [&](int item) { run_item<T>(s, item); });
  }
}

}  // namespace

void gemm_blocked(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, const float* B,
                  float beta, float* C, GemmEpilogue then) {
  if (without_sums(M, N, K, alpha, beta, C)) {
    if (then.kind != GemmEpilogue::kNone) apply_epilogue(then, C, M, N);
    return;
  }
  const Operands o{trans_a, trans_b, M, N, K, alpha, beta, A, B, C, then};
  if (padded<TallTile>(N) < padded<WideTile>(N)) gemm_tiled<TallTile>(o);
  else gemm_tiled<WideTile>(o);
}

int64_t packed_b_floats(int N, int K) { return static_cast<int64_t>(padded<TallTile>(N)) * K; }

void pack_b(bool trans_b, int N, int K, const float* B, float* packed) {
  using T = TallTile;
  constexpr int kNr = T::Nr;
  const Operands o{false, trans_b, 0, N, K, 1.0f, 0.0f, nullptr, B, nullptr, {}};
  const int n_panels = panels<T>(N);
  parallel_for(n_panels, static_cast<size_t>(K) * N, [&](int q) {
    pack_b_panel<T>(o, q * kNr, 0, K, packed + static_cast<int64_t>(q) * K * kNr);
  });
}

void gemm_packed(int M, int N, int K, float alpha, const float* A, const float* packed, float beta, float* C) {
  using T = TallTile;
  if (without_sums(M, N, K, alpha, beta, C)) return;
  const Operands o{false, false, M, N, K, alpha, beta, A, nullptr, C, {}};
  const int n_panels = panels<T>(N);
  const int m_blocks = (M + T::Mc - 1) / T::Mc;
  // Few rows: the columns are what is shared out, in chunks small enough to balance two threads.
  const ColumnChunks chunks = column_chunks(n_panels, m_blocks, kPackedItemsPerThread * pool_threads());
  parallel_for(m_blocks * chunks.count, static_cast<size_t>(M) * N * K / 16, [&](int item) {
    const int mb = item % m_blocks, chunk = item / m_blocks;
    const int q0 = chunk * chunks.per_chunk;
    run_packed_item(o, packed, row_block<T>(M, m_blocks, mb), q0, std::min(n_panels, q0 + chunks.per_chunk));
  });
}

}  // namespace rm
