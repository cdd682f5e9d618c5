package dev.eva4j.api.kernels;

import static dev.eva4j.api.kernels.VectorOps.F32;
import static dev.eva4j.api.kernels.VectorOps.S;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The thin products of a LoRA branch, where one dimension is the rank R (a few to a few dozen): general GEMM
 * libraries tile for large squares and run these at a few GFLOP/s, while they only stream the big operand once with
 * R accumulators. Three shapes, each over rows in parallel (or columns, for the one that reduces over rows):
 * <ul>
 *   <li>{@link #dots}: out[n, r] = alpha sum_k x[n, k] w[r, k] — x A^T, dout B (with B transposed);</li>
 *   <li>{@link #axpys}: y[n, :] += alpha sum_r c[n, r] w[r, :] — xa B^T, g A;</li>
 *   <li>{@link #accumulate}: acc[r, :] += alpha sum_n c[n, r] x[n, :] — g^T x, xa^T dout.</li>
 * </ul>
 * x and y are float32 segments (row-major, leading dimension = row length); the small operands c, w, acc are heap
 * arrays. Sums run in float32 lanes, as a GEMM's would.
 */
final class SkinnyGemm {
    private SkinnyGemm() {}

    /** Row-major [rows, cols] floats of a segment, on the heap. */
    static float[] heap(MemorySegment s, int rows, int cols) {
        float[] out = new float[rows * cols];
        MemorySegment.copy(s, F32, 0, out, 0, rows * cols);
        return out;
    }

    /** [rows, cols] of a segment, transposed to [cols, rows] on the heap. */
    static float[] transposed(MemorySegment s, int rows, int cols) {
        float[] in = heap(s, rows, cols), out = new float[rows * cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[j * rows + i] = in[i * cols + j];
        return out;
    }

    /**
     * out[n, r] = alpha sum_k x[n, k] w[r, k]. Shapes: x [N, K] (segment), w [R, K] (heap), out [N, R] (heap).
     * Four rows of w at a time in local accumulators (an array of vectors would defeat the vector intrinsics).
     */
    static void dots(float[] out, MemorySegment x, float[] w, float alpha, int N, int K, int R) {
        int L = S.length(), upper = K - K % L, R4 = (R + 3) / 4 * 4;
        float[] wp = java.util.Arrays.copyOf(w, R4 * K);       // zero rows pad R to a multiple of 4
        Parallel.rows(N, (long) K * R, (first, end) -> {
            float[] row = new float[K];
            for (int n = first; n < end; n++) {
                MemorySegment.copy(x, F32, (long) n * K * Float.BYTES, row, 0, K);
                for (int r = 0; r < R4; r += 4) {
                    FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                    int w0 = r * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
                    for (int k = 0; k < upper; k += L) {
                        FloatVector xv = FloatVector.fromArray(S, row, k);
                        a0 = xv.fma(FloatVector.fromArray(S, wp, w0 + k), a0);
                        a1 = xv.fma(FloatVector.fromArray(S, wp, w1 + k), a1);
                        a2 = xv.fma(FloatVector.fromArray(S, wp, w2 + k), a2);
                        a3 = xv.fma(FloatVector.fromArray(S, wp, w3 + k), a3);
                    }
                    float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
                    float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
                    for (int k = upper; k < K; k++) {
                        s0 += row[k] * wp[w0 + k];
                        s1 += row[k] * wp[w1 + k];
                        s2 += row[k] * wp[w2 + k];
                        s3 += row[k] * wp[w3 + k];
                    }
                    int o = n * R + r;
                    out[o] = alpha * s0;
                    if (r + 1 < R) out[o + 1] = alpha * s1;
                    if (r + 2 < R) out[o + 2] = alpha * s2;
                    if (r + 3 < R) out[o + 3] = alpha * s3;
                }
            }
        });
    }

    /** y[n, :] += alpha sum_r c[n, r] w[r, :]. Shapes: y [N, M] (segment), c [N, R] (heap), w [R, M] (heap). */
    static void axpys(MemorySegment y, float[] c, float[] w, float alpha, int N, int M, int R) {
        int L = S.length(), upper = M - M % L;
        Parallel.rows(N, (long) M * R, (first, end) -> {
            float[] row = new float[M];
            for (int n = first; n < end; n++) {
                long base = (long) n * M;
                MemorySegment.copy(y, F32, base * Float.BYTES, row, 0, M);
                for (int j = 0; j < upper; j += L) {
                    FloatVector acc = FloatVector.fromArray(S, row, j);
                    for (int r = 0; r < R; r++) {
                        acc = FloatVector.fromArray(S, w, r * M + j).fma(FloatVector.broadcast(S, alpha * c[n * R + r]), acc);
                    }
                    acc.intoArray(row, j);
                }
                for (int j = upper; j < M; j++) {
                    float s = 0;
                    for (int r = 0; r < R; r++) s += c[n * R + r] * w[r * M + j];
                    row[j] += alpha * s;
                }
                MemorySegment.copy(row, 0, y, F32, base * Float.BYTES, M);
            }
        });
    }

    /**
     * acc[r, :] += alpha sum_n c[n, r] x[n, :]. Shapes: acc [R, M] (heap), c [N, R] (heap), x [N, M] (segment).
     * Columns are split across threads, so every thread sums over all rows in the same order.
     */
    static void accumulate(float[] acc, float[] c, MemorySegment x, float alpha, int N, int M, int R) {
        int L = S.length();
        int blocks = (M + L - 1) / L;
        Parallel.rows(blocks, (long) N * L * R, (firstBlock, endBlock) -> {
            int j0 = firstBlock * L, j1 = Math.min(M, endBlock * L), width = j1 - j0;
            int upper = width - width % L;
            float[] part = new float[R * width];
            float[] xs = new float[width];
            for (int n = 0; n < N; n++) {
                MemorySegment.copy(x, F32, ((long) n * M + j0) * Float.BYTES, xs, 0, width);
                for (int j = 0; j < upper; j += L) {
                    FloatVector xv = FloatVector.fromArray(S, xs, j);
                    for (int r = 0; r < R; r++) {
                        FloatVector p = FloatVector.fromArray(S, part, r * width + j);
                        xv.fma(FloatVector.broadcast(S, c[n * R + r]), p).intoArray(part, r * width + j);
                    }
                }
                for (int j = upper; j < width; j++) {
                    for (int r = 0; r < R; r++) part[r * width + j] += c[n * R + r] * xs[j];
                }
            }
            for (int r = 0; r < R; r++) {
                for (int j = 0; j < width; j++) acc[r * M + j0 + j] += alpha * part[r * width + j];
            }
        });
    }
}
