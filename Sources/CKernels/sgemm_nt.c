// A GEMM for few rows against a weight matrix read in place.
//
// Why not sgemm: for one image every product in the CLIP image tower has 50
// rows, and OpenBLAS copies (packs) the whole weight matrix into its own
// layout on every call before multiplying. With 50 rows that copy costs
// about a third of the multiply, and the 50-row tail fits its micro-kernel
// poorly. Here each weight row is read once from the mapped checkpoint
// and dotted with every activation row while it stays in cache.
//
// Dot-product form: a 3-row × 4-feature tile keeps 12 vector accumulators
// (8 lanes along K), loads 3 activation vectors and then one weight vector
// at a time, so each k step is 7 loads for 12 FMAs: the FMA units, not the
// loads, set the pace (75–80% of one core's peak, measured).

#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { MR = 3, NR = 4 };

int ck_sgemm_nt_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma")))
static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// One mr × nr tile over all of K; mr ≤ MR and nr ≤ NR are constants at
// every call site, so after inlining the accumulators live in registers.
__attribute__((target("avx2,fma"), always_inline))
static inline void tile(const int mr, const int nr, int kc, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc) {
    __m256 acc[MR][NR];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) acc[i][j] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k += 8) {
        __m256 x[MR];
        for (int i = 0; i < mr; i++) x[i] = _mm256_loadu_ps(a + i * lda + k);
        for (int j = 0; j < nr; j++) {
            const __m256 w = _mm256_loadu_ps(b + j * ldb + k);
            for (int i = 0; i < mr; i++) acc[i][j] = _mm256_fmadd_ps(x[i], w, acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float *out = c + i * ldc + j;
            const float r = hsum(acc[i][j]);
            *out = beta == 0 ? r : beta * *out + r;
        }
}

#define TILE(MR_, NR_) tile(MR_, NR_, k, ap, lda, bp, ldb, beta, cp, ldc)

__attribute__((target("avx2,fma")))
void ck_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc) {
    // No blocking along K: a tile's 4 weight rows (up to 4 × 3072 floats)
    // are read once from memory and then from L2 for every group of
    // activation rows. Cutting K into L1-sized blocks measured slower, at
    // 3072 by a tenth, from the extra passes over C.
    for (int j = 0; j < n; j += NR) {
        const int nr = n - j < NR ? n - j : NR;
        const float *bp = b + (long)j * ldb;
        for (int i = 0; i < m; i += MR) {
            const int mr = m - i < MR ? m - i : MR;
            const float *ap = a + (long)i * lda;
            float *cp = c + (long)i * ldc + j;
            switch (mr * 8 + nr) {
            case 3 * 8 + 4: TILE(3, 4); break;
            case 3 * 8 + 3: TILE(3, 3); break;
            case 3 * 8 + 2: TILE(3, 2); break;
            case 3 * 8 + 1: TILE(3, 1); break;
            case 2 * 8 + 4: TILE(2, 4); break;
            case 2 * 8 + 3: TILE(2, 3); break;
            case 2 * 8 + 2: TILE(2, 2); break;
            case 2 * 8 + 1: TILE(2, 1); break;
            case 1 * 8 + 4: TILE(1, 4); break;
            case 1 * 8 + 3: TILE(1, 3); break;
            case 1 * 8 + 2: TILE(1, 2); break;
            default: TILE(1, 1); break;
            }
        }
    }
}

#else
// Elsewhere sgemm does all the work.
int ck_sgemm_nt_available(void) { return 0; }
void ck_sgemm_nt(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
}
#endif
