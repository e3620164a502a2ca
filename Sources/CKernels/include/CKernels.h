#ifndef UNCLIP_CKERNELS_H
#define UNCLIP_CKERNELS_H

/// 1 when the running CPU has AVX2 and FMA, which ck_sgemm_nt needs.
int ck_sgemm_nt_available(void);

/// C[M, N] = A[M, K] · B[N, K]ᵀ + beta · C, row-major with leading
/// dimensions, for products with few rows (M up to a few dozen) against a
/// weight matrix stored as PyTorch stores it ([out, in]). K must be a
/// multiple of 8. Each C element is the same sum in the same order whatever
/// M, N and the split of N between callers, so results do not depend on
/// how the caller cuts the work. Only call when ck_sgemm_nt_available().
void ck_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);

#endif
