// The register tile both vector paths share (internal to FixedOrderGEMM). A path defines its
// vector type and operations, then includes this header inside its kernel bodies:
//   PB_VEC, PB_LANES (floats per vector), PB_MASK (edge-lane mask type), PB_MASK_OF(count),
//   PB_ZERO(), PB_LOAD(p), PB_MASKLOAD(p, mask), PB_MASKSTORE(p, mask, v), PB_BROADCAST(p),
//   PB_FMA(a, b, acc), PB_MR (tile rows).
// PB_TILE(NV, A, NEXT_A) computes one tile of PB_MR rows × NV vectors of columns: every lane
// runs one output element's fma chain over p, in ascending p; A(r) is row r's value of op(A)
// at the current p and NEXT_A moves to the next p; B's row p starts at bp and steps by bstride.
// Rows ≥ mr and columns ≥ nr are computed on padding and never read or written in C.
#ifndef PATCHBENCH_FIXED_ORDER_GEMM_TILE_H
#define PATCHBENCH_FIXED_ORDER_GEMM_TILE_H

#define PB_TILE(NV, A, NEXT_A)                                                                   \
    const PB_MASK mask[2] = {PB_MASK_OF(nr), PB_MASK_OF(nr - PB_LANES)};                         \
    PB_VEC acc[PB_MR][NV];                                                                       \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++)                                                             \
            acc[r][v] = (zeroInit || r >= mr) ? PB_ZERO() : PB_MASKLOAD(c + r * ldc + PB_LANES * v, mask[v]); \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        PB_VEC bv[NV];                                                                           \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++) bv[v] = PB_LOAD(bp + PB_LANES * v);                         \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int r = 0; r < PB_MR; r++) {                                                        \
            const PB_VEC av = PB_BROADCAST(&A(r));                                               \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) acc[r][v] = PB_FMA(av, bv[v], acc[r][v]);               \
        }                                                                                        \
        NEXT_A;                                                                                  \
        bp += bstride;                                                                           \
    }                                                                                            \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        if (r < mr)                                                                              \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) PB_MASKSTORE(c + r * ldc + PB_LANES * v, mask[v], acc[r][v]);

// Where A comes from: packed MR-value groups, rows of op(A) = A, or columns of op(A) = Aᵀ.
#define PB_PACKED_A(r) ap[r]
#define PB_PACKED_NEXT ap += PB_MR
#define PB_ROWS_A(r) ap[(r) * lda]
#define PB_ROWS_NEXT ap += 1
#define PB_COLUMNS_A(r) ap[r]
#define PB_COLUMNS_NEXT ap += lda

// Kernel definitions: NAME(…) with the signatures of Blocked.h, compiled for TARGET.
#define PB_PACKED_KERNEL(NAME, NV, TARGET)                                                        \
    __attribute__((target(TARGET))) static void NAME(ptrdiff_t kc, const float *ap, const float *bp,       \
                                                     ptrdiff_t bstride, float *c, ptrdiff_t ldc, int mr,   \
                                                     int nr, int zeroInit) {                              \
        PB_TILE(NV, PB_PACKED_A, PB_PACKED_NEXT)                                                  \
    }
#define PB_DIRECT_KERNEL(NAME, NV, TARGET, A, NEXT_A)                                             \
    __attribute__((target(TARGET))) static void NAME(ptrdiff_t kc, const float *ap, ptrdiff_t lda,         \
                                                     const float *bp, ptrdiff_t bstride, float *c,        \
                                                     ptrdiff_t ldc, int nr, int zeroInit) {               \
        const int mr = PB_MR;                                                                     \
        PB_TILE(NV, A, NEXT_A)                                                                    \
    }

#endif
