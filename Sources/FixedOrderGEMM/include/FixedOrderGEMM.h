// PatchBench's float32 matrix product, with one accumulation order on every CPU.
//
// C = alpha·op(A)·op(B) + beta·C, row-major, op(X) = Xᵀ when the flag is set; op(A) is M×K,
// op(B) is K×N, C is M×N; lda/ldb/ldc are the stored row lengths.
//
// The order (what makes the bits the same on every path):
//   acc  = 0                    when beta == 0 (C is not read: it may hold NaN)
//        = C[i][j]              when beta == 1
//        = beta·C[i][j]         otherwise (one rounded product)
//   for p = 0, 1, …, K−1 (ascending, never split or reordered):
//       acc = fma(a′[i][p], op(B)[p][j], acc)   with a′ = op(A)[i][p] when alpha == 1,
//                                                 else the rounded product alpha·op(A)[i][p]
//   C[i][j] = acc
// Vector paths vectorise across j (each lane owns one output element), never across p, so
// the vector width, the register blocking, the cache blocking (a K block stores its partial
// sum in C and the next block reloads it, which is exact) and the thread split cannot change
// a bit. alpha == 0 or K == 0 gives C = beta·C (A and B are not read).
//
// Error bound: each element is a K-term dot product accumulated in float32 with one rounding
// per fused multiply-add, |ĉ − c| ≤ γ_K · Σ_p |a′_p·b_p| (+ the rounding of beta·C and of a′),
// γ_K = K·u/(1 − K·u), u = 2⁻²⁴ — the classical bound for recursive summation.
//
// Aliasing: C must not overlap A or B (checked by the Swift caller for the engine's buffers;
// the kernels read A and B while writing C). A and B may overlap each other.
#ifndef PATCHBENCH_FIXED_ORDER_GEMM_H
#define PATCHBENCH_FIXED_ORDER_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The code paths. Every path gives the same bits; they differ only in speed.
typedef enum {
    PB_GEMM_REFERENCE = 0,  ///< scalar loops over fmaf: portable, slow, the definition in code
    PB_GEMM_AVX2 = 1,       ///< AVX2 + FMA, 6×16 register tile
    PB_GEMM_AVX512 = 2,     ///< AVX-512F, 14×32 register tile
} pb_gemm_path;

/// 1 when this CPU can run the path (the reference always can).
int pb_gemm_path_supported(pb_gemm_path path);

/// The fastest path this CPU supports.
pb_gemm_path pb_gemm_best_path(void);

/// Short name of a path: "reference", "avx2-fma", "avx512f".
const char *pb_gemm_path_name(pb_gemm_path path);

/// The product on the given path (which must be supported: the caller checks). Single-threaded;
/// callers split C into blocks and run them on their own threads (any split gives the same bits).
void pb_sgemm(pb_gemm_path path, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
              float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
              float beta, float *c, ptrdiff_t ldc);

/// C = R + alpha·op(A)·op(B) where every row of R is rowInit [N] (a linear layer's bias): the
/// same bits as filling each row of C with rowInit and calling pb_sgemm with beta = 1, without
/// a pass over the whole of C first (each tile's rows are written just before it is computed).
/// C is not read before it is written; rowInit must not overlap C.
void pb_sgemm_from_rows(pb_gemm_path path, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                        float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                        const float *rowInit, float *c, ptrdiff_t ldc);

/// Runs `iterations` rounds of independent fmas at the path's vector width on the calling
/// thread and returns the FLOPs done (time it to get the core's peak); 0 for the reference path.
double pb_fma_peak_flops(pb_gemm_path path, long iterations);

#ifdef __cplusplus
}
#endif

#endif
