package dev.eva4j.api.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** HostKernels on a plain-loop GEMM: attention in chunks of sequences equals attention in one go; buffer views. */
class HostKernelsChunkingTest {
    /** C = alpha op(A) op(B) + beta C with plain loops (float32 accumulation, as a GEMM would). */
    static final class LoopGemm implements HostGemm {
        @Override
        public void sgemm(Transpose transA, Transpose transB, int m, int n, int k, float alpha, MemorySegment a,
                          int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
            sgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
        }

        @Override
        public void sgemmStridedBatched(Transpose transA, Transpose transB, int m, int n, int k, float alpha,
                                        MemorySegment a, int lda, long strideA, MemorySegment b, int ldb,
                                        long strideB, float beta, MemorySegment c, int ldc, long strideC, int batch) {
            ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT;
            for (int t = 0; t < batch; t++) {
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        float s = 0;
                        for (int p = 0; p < k; p++) {
                            float x = a.getAtIndex(f, t * strideA + (transA.on() ? (long) p * lda + i : (long) i * lda + p));
                            float y = b.getAtIndex(f, t * strideB + (transB.on() ? (long) j * ldb + p : (long) p * ldb + j));
                            s += x * y;
                        }
                        long ci = t * strideC + (long) i * ldc + j;
                        c.setAtIndex(f, ci, alpha * s + (beta == 0f ? 0f : beta * c.getAtIndex(f, ci)));
                    }
                }
            }
        }
    }

    private final HostKernels k = new HostKernels("loops", new LoopGemm(), Set.of());

    @Test
    void attentionInChunksOfOneSequenceEqualsOneChunk() {
        Random rnd = new Random(5);
        int B = 3, T = 7, NH = 4, NKV = 2, HS = 4;
        long nq = (long) B * T * NH * HS, nkv = (long) B * T * NKV * HS;
        Buffer q = k.allocateFloats(nq), kk = k.allocateFloats(nkv), v = k.allocateFloats(nkv);
        for (Buffer x : new Buffer[] {q, kk, v}) {
            float[] values = new float[(int) x.length()];
            for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian();
            k.upload(x, 0, values);
        }
        Buffer mask = k.allocate(DType.I32, B * T);
        int[] m = new int[B * T];
        for (int i = 0; i < m.length; i++) m[i] = i % T < 2 + i / T * 2 ? 1 : 0;
        k.upload(mask, 0, m);
        for (boolean causal : new boolean[] {false, true}) {
            Buffer whole = k.allocateFloats(nq), chunked = k.allocateFloats(nq), saved = k.allocateFloats(nq);
            Buffer att = k.allocateFloats((long) B * NH * T * T);
            k.attentionForward(whole, null, q, kk, v, mask, B, T, NH, NKV, HS, causal);
            k.attentionForward(chunked, null, q, kk, v, mask, B, T, NH, NKV, HS, causal, 1);
            k.attentionForward(saved, att, q, kk, v, mask, B, T, NH, NKV, HS, causal, 1);
            float[] a = new float[(int) nq], b = new float[(int) nq], c = new float[(int) nq];
            k.download(whole, 0, a);
            k.download(chunked, 0, b);
            k.download(saved, 0, c);
            assertArrayEquals(a, b);
            assertArrayEquals(a, c);
        }
    }

    @Test
    void slicesAreBoundedViews() {
        HostBuffer root = k.allocate(DType.I32, 4);
        k.upload(root, 0, new int[] {1, 2, 3, 4});
        HostBuffer view = root.slice(1, 2);
        assertEquals(2, view.segment().getAtIndex(ValueLayout.JAVA_INT, 0));
        assertEquals(8, view.byteSize());
        assertThrows(IndexOutOfBoundsException.class, () -> root.slice(3, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> root.slice(-1, 1));
        root.close();
        assertEquals(false, view.isAlive());
    }
}
