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

/// SHA-256's 64 round constants (FIPS 180-4 §4.2.2).
const unsigned *ck_sha256_constants(void);

/// 1 when the running CPU has the SHA extensions (and SSSE3, SSE4.1).
int ck_sha256_available(void);

/// SHA-256 compression of `blocks` 64-byte blocks into `state` (a…h, host
/// order), as FIPS 180-4 §6.2.2. Only call when ck_sha256_available().
void ck_sha256_blocks(unsigned state[8], const unsigned char *data, long blocks);

#endif
