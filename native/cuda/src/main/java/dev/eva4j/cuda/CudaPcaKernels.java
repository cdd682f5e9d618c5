package dev.eva4j.cuda;

import java.util.Objects;

/**
 * The EVA step's device kernels (see {@code src/main/cuda/eva.cuh}), launched on the context's stream on raw device
 * pointers, for the CUDA SVD backend: one incremental-PCA step of a layer group as
 * {@code dev.eva4j.api.eva.IncrementalPca} computes it on the host, without leaving the device. Shapes: X [rows, d]
 * float32; statistics [d] float64; S [k] float32; V [k, d] float32; M [mRows, d] float32, all row-major.
 *
 * <p>A step: {@link #gatherRows} (the unpadded tokens' rows), {@link #columnMean} (batch sum and mean, float64),
 * {@link #scaledRows} (M's first k rows, diag(S) V, when the state has components), {@link #centerAndFinish}
 * (centred rows into M, the Chan-merged mean and variance, the mean-correction row); then the SVD of M (cuSOLVER);
 * then {@link #signFlip}, {@link #rowCosines} (convergence) and {@link #explainedVariance}.
 *
 * <p>Scratch memory for the float64 partial sums is owned here and reused (safe: all work is on one stream). Not
 * thread-safe.
 */
public final class CudaPcaKernels implements AutoCloseable {
    private static final int THREADS = 256;

    private final CudaContext context;
    private final CudaModule module;
    private DeviceMemory scratch;

    public CudaPcaKernels(CudaModule module) {
        this.module = Objects.requireNonNull(module, "module");
        this.context = module.context();
    }

    private static int blocks(long n) {
        return (int) Math.max(1, Math.min(65536, (n + THREADS - 1) / THREADS));
    }

    private long scratch(long bytes) {
        if (scratch == null || scratch.byteSize() < bytes) {
            if (scratch != null) scratch.close();
            scratch = null;
            scratch = context.allocate(Math.max(bytes, 1L << 20));
        }
        return scratch.address();
    }

    private static void dims(String op, int... values) {
        for (int v : values) if (v < 1) throw new IllegalArgumentException(op + ": dimensions must be >= 1");
    }

    /** dst[i, :] = src[rows[i], :] for i < count; rows is a device int array of count row indices into src. */
    public void gatherRows(long dst, long src, long rows, int count, int d) {
        dims("gatherRows", count, d);
        long n = (long) count * d;
        module.launch("eva4j_gather_rows", blocks(n), 1, 1, THREADS, 1, 1, 0, dst, src, rows, count, d);
    }

    /** sum[c] and mean[c] = sum / rows of x [rows, d] (float64, two passes over chunks of rows). */
    public void columnMean(long sum, long mean, long x, int rows, int d) {
        dims("columnMean", rows, d);
        int[] ch = chunking(rows);
        long partial = scratch((long) ch[1] * d * Double.BYTES);
        module.launch("eva4j_column_sum_partials", (d + 31) / 32, ch[1], 1, 32, 8, 1, 0, partial, x, rows, d, ch[0]);
        module.launch("eva4j_column_mean_finish", blocks(d), 1, 1, THREADS, 1, 1, 0, sum, mean, partial, ch[1], d,
                rows);
    }

    /** m[i, :] = s[i] * v[i, :] for i < k: M's first rows, diag(S) V. */
    public void scaledRows(long m, long s, long v, int k, int d) {
        dims("scaledRows", k, d);
        long n = (long) k * d;
        module.launch("eva4j_scaled_rows", blocks(n), 1, 1, THREADS, 1, 1, 0, m, s, v, k, d);
    }

    /**
     * The centred rows x - batchMean into m from row {@code rowOffset} (float), then the new statistics: with
     * n = nOld and N = n + rows, newMean and newVar as IncrementalPca.prepare (Chan et al., the compensated sum of
     * squares); when n > 0 also M's mean-correction row {@code correction} = sqrt(n / N * rows) (oldMean - batchMean)
     * (pass 0 for none). oldMean and oldVar may be 0 when n = 0.
     */
    public void centerAndFinish(long m, long rowOffset, long newMean, long newVar, long correction, long x, long sum,
                                long batchMean, long oldMean, long oldVar, long nOld, int rows, int d) {
        dims("centerAndFinish", rows, d);
        if (nOld < 0) throw new IllegalArgumentException("centerAndFinish: nOld must be >= 0, got " + nOld);
        int[] ch = chunking(rows);
        long part = (long) ch[1] * d;
        long pm2 = scratch(2 * part * Double.BYTES), pcomp = pm2 + part * Double.BYTES;
        module.launch("eva4j_center_partials", (d + 31) / 32, ch[1], 1, 32, 8, 1, 0, m, pm2, pcomp, x, batchMean,
                rows, d, rowOffset, ch[0]);
        module.launch("eva4j_pca_stats_finish", blocks(d), 1, 1, THREADS, 1, 1, 0, newMean, newVar, correction, sum,
                batchMean, pm2, pcomp, ch[1], oldMean, oldVar, nOld, rows, d);
    }

    /** Negates each row of v [k, d] whose largest-magnitude entry (the first on ties) is negative. */
    public void signFlip(long v, int k, int d) {
        dims("signFlip", k, d);
        module.launch("eva4j_sign_flip", k, 1, 1, THREADS, 1, 1, 0, v, k, d);
    }

    /** out[i] = cosine of rows i of a and b [k, d] (float64; 0 when either row is zero). */
    public void rowCosines(long out, long a, long b, int k, int d) {
        dims("rowCosines", k, d);
        module.launch("eva4j_row_cosines", k, 1, 1, THREADS, 1, 1, 0, out, a, b, k, d);
    }

    /** evr[i] = s[i]^2 / sum_c(var[c] nTotal) (float64; 0 when the total is not positive). */
    public void explainedVariance(long evr, long s, long var, long nTotal, int k, int d) {
        dims("explainedVariance", k, d);
        module.launch("eva4j_explained_variance", 1, 1, 1, THREADS, 1, 1, 0, evr, s, var, nTotal, k, d);
    }

    /** Row-major src [rows, cols] transposed into dst [cols, rows] (column-major for cuSOLVER, and back). */
    public void transpose(long dst, long src, int rows, int cols) {
        dims("transpose", rows, cols);
        module.launch("eva4j_transpose", (cols + 31) / 32, (rows + 31) / 32, 1, 32, 8, 1, 0, dst, src, rows, cols);
    }

    /** {rows per chunk, chunks} for two-pass column sums: at most 1024 chunks, of at least 64 rows. */
    static int[] chunking(int rows) {
        int rowsPerChunk = Math.max(64, (rows + 1023) / 1024);
        return new int[] {rowsPerChunk, (rows + rowsPerChunk - 1) / rowsPerChunk};
    }

    @Override
    public void close() {
        if (scratch != null) scratch.close();
        scratch = null;
    }
}
