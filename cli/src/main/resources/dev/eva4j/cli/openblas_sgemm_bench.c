/* OpenBLAS's own sgemm speed, measured in C with no JVM in the way: the baseline `eva4j bench gemm` compares
 * eva4j's backends against. Usage: sgemm_bench N MIN_SECONDS THREADS
 * Prints one line: "N REPS MEDIAN_GFLOPS BEST_GFLOPS". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { RowMajor = 101, NoTrans = 111 };
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
void openblas_set_num_threads(int n);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s N MIN_SECONDS THREADS\n", argv[0]); return 2; }
    int n = atoi(argv[1]);
    double minSeconds = atof(argv[2]);
    openblas_set_num_threads(atoi(argv[3]));
    size_t len = (size_t)n * n;
    float *a = malloc(len * sizeof(float)), *b = malloc(len * sizeof(float)), *c = malloc(len * sizeof(float));
    if (!a || !b || !c) { fprintf(stderr, "out of memory\n"); return 1; }
    srand(42);
    for (size_t i = 0; i < len; i++) {
        a[i] = rand() / (float)RAND_MAX - 0.5f;
        b[i] = rand() / (float)RAND_MAX - 0.5f;
        c[i] = 0;
    }
    cblas_sgemm(RowMajor, NoTrans, NoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm-up */
    double times[1000];
    int reps = 0;
    double start = now();
    while (reps < 1000 && (reps < 3 || now() - start < minSeconds)) {
        double t0 = now();
        cblas_sgemm(RowMajor, NoTrans, NoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        times[reps++] = now() - t0;
    }
    qsort(times, reps, sizeof(double), cmp);
    double flops = 2.0 * n * (double)n * n;
    printf("%d %d %.3f %.3f\n", n, reps, flops / times[reps / 2] * 1e-9, flops / times[0] * 1e-9);
    free(a); free(b); free(c);
    return 0;
}
