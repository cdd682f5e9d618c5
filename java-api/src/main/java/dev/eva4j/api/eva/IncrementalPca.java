package dev.eva4j.api.eva;

import dev.eva4j.spi.DType;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The running state of one equal-input group's incremental PCA (docs/eva.md, "One incremental-PCA step"): sample count, float64
 * mean and variance, and the top-k singular values and components. A step is split in two so that every group of a
 * forward pass can go to the SVD backend as one batch: {@link #prepare} builds the matrix M and the new statistics,
 * {@link #commit} takes the SVD's answer.
 *
 * <p>Shapes: d = input features, k = tracked components, X is n_t x d (row-major float32).
 *
 * <p>Precision: the mean and variance are float64 always. In float32 mode (the default) M, the SVD problem and the
 * stored singular values and components are float32; in float64 mode ({@link #IncrementalPca(int, int, boolean)})
 * they are float64, and the SVD backend must solve {@link DType#F64} problems.
 *
 * <p>Not thread-safe: one thread drives a state.
 */
public final class IncrementalPca {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;

    private final int d;
    private final int k;
    private final boolean f64;
    private long n;
    private double[] mean; // d
    private double[] var;  // d, population variance
    private double[] singularValues; // k (float32-rounded values in float32 mode)
    private double[] components;     // k x d, unit rows (float32-rounded values in float32 mode)
    private double[] explainedVarianceRatio; // k

    /** A float32 state. */
    public IncrementalPca(int d, int k) {
        this(d, k, false);
    }

    /** @param float64 M, the SVD and the stored components in float64 instead of float32 */
    public IncrementalPca(int d, int k, boolean float64) {
        if (d < 1) throw new IllegalArgumentException("d must be >= 1, got " + d);
        if (k < 1 || k > d) throw new IllegalArgumentException("components must be in [1, d = " + d + "], got " + k);
        this.d = d;
        this.k = k;
        this.f64 = float64;
    }

    /** A batch holds a NaN or an infinity (or values whose sum overflows) at (row, column). */
    public static final class NonFiniteInputException extends IllegalArgumentException {
        private final long row;
        private final int column;

        NonFiniteInputException(long row, int column, float value) {
            super((row < 0 ? "values whose sum overflows" : value) + " at row " + row + ", column " + column);
            this.row = row;
            this.column = column;
        }

        public long row() { return row; }
        public int column() { return column; }
    }

    private NonFiniteInputException nonFinite(MemorySegment x, int rows, int column) {
        for (long i = 0; i < rows; i++) {
            for (int j = 0; j < d; j++) {
                float v = x.getAtIndex(F, i * d + j);
                if (!Float.isFinite(v)) return new NonFiniteInputException(i, j, v);
            }
        }
        return new NonFiniteInputException(-1, column, Float.NaN);
    }

    /** A prepared step: M for the SVD, plus the statistics to adopt when it is committed. */
    public record Step(TopKProblem problem, long nTotal, double[] mean, double[] var) {}

    public int dim() { return d; }
    public int components() { return k; }
    /** Whether M, the SVD and the components are float64. */
    public boolean float64() { return f64; }
    public long samplesSeen() { return n; }
    public boolean hasComponents() { return components != null; }
    public double[] mean() { return mean == null ? null : mean.clone(); }
    public double[] variance() { return var == null ? null : var.clone(); }
    /** The singular values, rounded to float32. */
    public float[] singularValues() { return singularValues == null ? null : toFloats(singularValues); }
    /** The singular values in the state's precision (exact float32 values in float32 mode). */
    public double[] singularValues64() { return singularValues == null ? null : singularValues.clone(); }
    /** k x d row-major copy of the components, rounded to float32. */
    public float[] componentsCopy() { return components == null ? null : toFloats(components); }
    /** k x d row-major copy of the components in the state's precision. */
    public double[] componentsCopy64() { return components == null ? null : components.clone(); }
    public double[] explainedVarianceRatio() { return explainedVarianceRatio == null ? null : explainedVarianceRatio.clone(); }

    /**
     * Bytes a step of {@code rows} rows allocates for its SVD problem (M, singular values, components and the warm
     * start): what {@link #prepare} takes from the arena.
     */
    public long stepBytes(int rows, boolean warm) {
        long mRows = n == 0 ? rows : (long) k + rows + 1;
        long elems = mRows * d + k + (long) k * d + (warm && components != null ? (long) k * d : 0);
        return elems * (f64 ? 8 : 4);
    }

    /** m[index, index + v.length) = v, in the state's precision (rounded to float32 in float32 mode); one bulk copy. */
    private void putAll(MemorySegment m, long index, double[] v) {
        if (f64) {
            MemorySegment.copy(v, 0, m, D, index * 8, v.length);
        } else {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
            MemorySegment.copy(f, 0, m, F, index * 4, f.length);
        }
    }

    /** The first {@code count} values of m, in the state's precision, as doubles; one bulk copy. */
    private double[] getAll(MemorySegment m, int count) {
        double[] v = new double[count];
        if (f64) {
            MemorySegment.copy(m, D, 0, v, 0, count);
        } else {
            float[] f = new float[count];
            MemorySegment.copy(m, F, 0, f, 0, count);
            for (int i = 0; i < count; i++) v[i] = f[i];
        }
        return v;
    }

    /**
     * Builds M for a batch of rows (docs/eva.md, "One incremental-PCA step", steps 1-2). The caller must not pass fewer than k rows.
     *
     * @param x    n_t x d float32 rows
     * @param warm whether to hand the current components to the backend as a warm start
     */
    public Step prepare(MemorySegment x, int rows, SegmentAllocator arena, long seed, boolean warm) {
        if (rows < k) throw new IllegalArgumentException("a step needs at least k = " + k + " rows, got " + rows);
        ValueLayout el = f64 ? D : F;
        long nTot = n + rows;
        int mRows = n == 0 ? rows : k + rows + 1;
        MemorySegment m = arena.allocate((long) mRows * d * el.byteSize(), 64);
        int r0 = 0;
        if (n > 0) { // diag(S) V (in float32 mode: a product of two float32 values, rounded once, as float32 would)
            putAll(m, 0, scaledComponents());
            r0 = k;
        }
        // batch statistics in float64 (Chan et al.): per column, the sum, then one pass that writes the centred rows
        // into M and accumulates the centred sum of squares with its compensation term. Columns are independent, so
        // blocks of columns run in parallel for large batches, each column's sums in row order: the same numbers
        // whether or not it runs in parallel.
        double[] sum = new double[d], batchMean = new double[d], m2 = new double[d], comp = new double[d];
        int cores = Runtime.getRuntime().availableProcessors();
        boolean parallel = cores > 1 && d >= 2 * MIN_BLOCK && x.isNative() && (long) rows * d >= PARALLEL_ELEMENTS;
        // one block per core (widths multiples of 16 columns), or all columns at once
        int blocks = parallel ? Math.min(cores, d / MIN_BLOCK) : 1;
        int[] edges = new int[blocks + 1];
        for (int b = 1; b < blocks; b++) edges[b] = (int) ((long) d * b / blocks) / 16 * 16;
        edges[blocks] = d;
        MemorySegment xs = parallel ? anyThread(x) : x, ms = parallel ? anyThread(m) : m;
        int first = r0;
        java.util.function.IntConsumer block = bi -> columns(xs, ms, rows, first, edges[bi], edges[bi + 1], sum,
                batchMean, m2, comp);
        if (parallel) java.util.stream.IntStream.range(0, blocks).parallel().forEach(block);
        else block.accept(0);
        for (int j = 0; j < d; j++) if (!Double.isFinite(sum[j])) throw nonFinite(x, rows, j);
        double[] newMean = new double[d], newVar = new double[d];
        merge(rows, nTot, sum, batchMean, m2, comp, newMean, newVar);
        if (n > 0) { // mean-correction row
            double factor = Math.sqrt((double) n / nTot * rows);
            double[] c = new double[d];
            for (int j = 0; j < d; j++) c[j] = factor * (mean[j] - batchMean[j]);
            putAll(m, (long) (r0 + rows) * d, c);
        }
        MemorySegment s = arena.allocate(el, k), vt = arena.allocate(el, (long) k * d);
        MemorySegment warmStart = MemorySegment.NULL;
        if (warm && components != null) {
            warmStart = arena.allocate(el, (long) k * d);
            putAll(warmStart, 0, components);
        }
        return new Step(new TopKProblem(mRows, d, k, m, s, vt, warmStart, seed, f64 ? DType.F64 : DType.F32),
                nTot, newMean, newVar);
    }

    /** diag(S) V, k x d. */
    private double[] scaledComponents() {
        double[] sv = new double[k * d];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < d; j++) sv[i * d + j] = singularValues[i] * components[i * d + j];
        }
        return sv;
    }

    /**
     * The running mean and variance after a batch of {@code rows} rows (Chan et al.) into newMean and newVar; m2
     * holds the batch's centred sums of squares, corrected here by their compensation terms comp.
     */
    private void merge(int rows, long nTot, double[] sum, double[] batchMean, double[] m2, double[] comp,
                       double[] newMean, double[] newVar) {
        for (int j = 0; j < d; j++) m2[j] -= comp[j] * comp[j] / rows;
        for (int j = 0; j < d; j++) {
            if (n == 0) {
                newMean[j] = batchMean[j];
                newVar[j] = m2[j] / nTot;
            } else {
                double delta = mean[j] - batchMean[j];
                newMean[j] = (n * mean[j] + sum[j]) / nTot;
                newVar[j] = (n * var[j] + m2[j] + (double) n * rows / nTot * delta * delta) / nTot;
            }
        }
    }

    /** Columns [c0, c1) of a step: their sums, means, centred rows in M (from row r0) and centred sums of squares. */
    private void columns(MemorySegment x, MemorySegment m, int rows, int r0, int c0, int c1, double[] sum,
                         double[] batchMean, double[] m2, double[] comp) {
        int w = c1 - c0;
        // rows are copied ROWS_PER_COPY at a time when the block spans whole rows (one copy, not one per row); the
        // loops run over plain arrays so that the JIT vectorises them. Each column still sums its rows in row order:
        // the same numbers for any block width. Each pass over the rows is a method of its own: the JIT compiles
        // those small loops on their own instead of this whole method again for each of its loops.
        int per = w == d ? ROWS_PER_COPY : 1;
        float[] buf = new float[per * w];
        double[] s = new double[w];
        sumRows(x, rows, c0, w, per, buf, s);
        System.arraycopy(s, 0, sum, c0, w);
        for (int j = 0; j < w; j++) if (!Double.isFinite(s[j])) return; // reported by the caller
        double[] mu = new double[w], sq = new double[w], cp = new double[w];
        for (int j = 0; j < w; j++) mu[j] = s[j] / rows;
        centreRows(x, m, rows, r0, c0, w, per, buf, mu, sq, cp);
        System.arraycopy(mu, 0, batchMean, c0, w);
        System.arraycopy(sq, 0, m2, c0, w);
        System.arraycopy(cp, 0, comp, c0, w);
    }

    /** s[j] = sum over rows of x[i, c0 + j], j < w, in row order. */
    private void sumRows(MemorySegment x, int rows, int c0, int w, int per, float[] buf, double[] s) {
        for (int i0 = 0; i0 < rows; i0 += per) {
            int n = Math.min(per, rows - i0);
            load(x, i0, n, c0, w, buf);
            for (int r = 0; r < n; r++) addRow(s, buf, r * w, w);
        }
    }

    /** M[r0 + i, c0 + j] = x[i, c0 + j] - mu[j]; sq[j] and cp[j] += the centred values' squares and values. */
    private void centreRows(MemorySegment x, MemorySegment m, int rows, int r0, int c0, int w, int per, float[] buf,
                            double[] mu, double[] sq, double[] cp) {
        float[] out = f64 ? null : new float[per * w];
        double[] out64 = f64 ? new double[per * w] : null;
        for (int i0 = 0; i0 < rows; i0 += per) {
            int n = Math.min(per, rows - i0);
            load(x, i0, n, c0, w, buf);
            for (int r = 0; r < n; r++) {
                if (f64) centre64(buf, r * w, w, mu, sq, cp, out64);
                else centre32(buf, r * w, w, mu, sq, cp, out);
            }
            for (int r = 0; r < n; r++) {
                long dst = (long) (r0 + i0 + r) * d + c0;
                if (f64) MemorySegment.copy(out64, r * w, m, D, dst * 8, w);
                else MemorySegment.copy(out, r * w, m, F, dst * 4, w);
            }
        }
    }

    /** Rows [i0, i0 + n), columns [c0, c0 + w) of x into buf (n x w). */
    private void load(MemorySegment x, int i0, int n, int c0, int w, float[] buf) {
        if (w == d) MemorySegment.copy(x, F, (long) i0 * d * 4, buf, 0, n * w);
        else for (int r = 0; r < n; r++) MemorySegment.copy(x, F, ((long) (i0 + r) * d + c0) * 4, buf, r * w, w);
    }

    private static void addRow(double[] s, float[] row, int off, int w) {
        for (int j = 0; j < w; j++) s[j] += row[off + j];
    }

    private static void centre32(float[] row, int off, int w, double[] mu, double[] sq, double[] cp, float[] out) {
        for (int j = 0; j < w; j++) {
            double t = row[off + j] - mu[j];
            sq[j] += t * t;
            cp[j] += t;
            out[off + j] = (float) t;
        }
    }

    private static void centre64(float[] row, int off, int w, double[] mu, double[] sq, double[] cp, double[] out) {
        for (int j = 0; j < w; j++) {
            double t = row[off + j] - mu[j];
            sq[j] += t * t;
            cp[j] += t;
            out[off + j] = t;
        }
    }

    /** Rows per bulk copy of a step's statistics when a column block spans whole rows. */
    private static final int ROWS_PER_COPY = 16;

    /** The same memory, usable from any thread (the caller's arena outlives the parallel work). */
    private static MemorySegment anyThread(MemorySegment s) {
        return MemorySegment.ofAddress(s.address()).reinterpret(s.byteSize());
    }

    /** Fewest columns per task of a parallel {@link #prepare}. */
    private static final int MIN_BLOCK = 64;
    /** Below this many elements a step's statistics are computed on the calling thread. */
    private static final long PARALLEL_ELEMENTS = 1 << 16;

    /**
     * Adopts a solved step: sign-flips each component so its largest-magnitude entry is positive (docs/eva.md, "One incremental-PCA step", step 4)
     * and computes the explained-variance ratios S_i^2 / sum_j(var_j * n_tot).
     *
     * @return per component, the cosine similarity with the previous component (null on the first step)
     */
    public double[] commit(Step step) {
        TopKProblem p = step.problem();
        if ((p.dtype() == DType.F64) != f64) {
            throw new IllegalArgumentException("a " + p.dtype() + " step cannot be committed to a " + (f64 ? "float64" : "float32") + " state");
        }
        double[] s = getAll(p.singularValues(), k), v = getAll(p.vt(), k * d);
        flipSigns(v, k, d);
        double[] sims = null;
        if (components != null) {
            sims = new double[k];
            for (int i = 0; i < k; i++) sims[i] = cosine(v, components, i, d);
        }
        double total = 0;
        for (int j = 0; j < d; j++) total += step.var()[j] * step.nTotal();
        double[] evr = new double[k];
        for (int i = 0; i < k; i++) evr[i] = total > 0 ? s[i] * s[i] / total : 0;
        n = step.nTotal();
        mean = step.mean();
        var = step.var();
        singularValues = s;
        components = v;
        explainedVarianceRatio = evr;
        return sims;
    }

    /**
     * docs/eva.md, "One incremental-PCA step", step 4: negates each of the k rows of {@code v} (k x d) whose largest-magnitude entry is negative
     * (the first such entry on ties), so that entry becomes positive.
     */
    static void flipSigns(double[] v, int k, int d) {
        for (int i = 0; i < k; i++) {
            int arg = 0;
            double best = -1;
            for (int j = 0; j < d; j++) {
                double a = Math.abs(v[i * d + j]);
                if (a > best) { best = a; arg = j; }
            }
            if (v[i * d + arg] < 0) for (int j = 0; j < d; j++) v[i * d + j] = -v[i * d + j];
        }
    }

    /**
     * Merges another group state of the same shape into a fresh state (docs/eva.md, "Mergeable states"): the statistics
     * combine exactly (Chan), the components through the SVD of [diag(S_a) V_a; diag(S_b) V_b; c] with the
     * mean-correction row c = sqrt(n_a n_b / n) (mean_a - mean_b). The problem is returned for the caller's backend.
     */
    public static Step prepareMerge(IncrementalPca a, IncrementalPca b, Arena arena, long seed) {
        if (a.k != b.k) throw new IllegalArgumentException("cannot merge states of different shapes or precisions");
        return prepareMerge(a, b, a.k, arena, seed);
    }

    /**
     * As {@link #prepareMerge(IncrementalPca, IncrementalPca, Arena, long)} for states that may track different
     * numbers of components: M stacks a's k_a and b's k_b weighted components and the mean correction
     * ((k_a + k_b + 1) x d), and the SVD keeps {@code kOut} of them.
     *
     * @param kOut in [1, min(d, k_a + k_b + 1)]
     */
    public static Step prepareMerge(IncrementalPca a, IncrementalPca b, int kOut, Arena arena, long seed) {
        if (a.d != b.d || a.f64 != b.f64) throw new IllegalArgumentException("cannot merge states of different shapes or precisions");
        if (!a.hasComponents() || !b.hasComponents()) throw new IllegalArgumentException("both states must have components");
        int d = a.d;
        int rows = a.k + b.k + 1;
        if (kOut < 1 || kOut > Math.min(d, rows)) throw new IllegalArgumentException("kOut must be in [1, " + Math.min(d, rows) + "], got " + kOut);
        long nTot = a.n + b.n;
        double[] mean = new double[d], var = new double[d];
        for (int j = 0; j < d; j++) {
            double delta = a.mean[j] - b.mean[j];
            mean[j] = (a.n * a.mean[j] + b.n * b.mean[j]) / nTot;
            var[j] = (a.n * a.var[j] + b.n * b.var[j] + (double) a.n * b.n / nTot * delta * delta) / nTot;
        }
        ValueLayout el = a.f64 ? D : F;
        MemorySegment m = arena.allocate(el, (long) rows * d);
        a.putAll(m, 0, a.scaledComponents());
        a.putAll(m, (long) a.k * d, b.scaledComponents());
        double factor = Math.sqrt((double) a.n * b.n / nTot);
        double[] c = new double[d];
        for (int j = 0; j < d; j++) c[j] = factor * (a.mean[j] - b.mean[j]);
        a.putAll(m, (long) (rows - 1) * d, c);
        MemorySegment s = arena.allocate(el, kOut), vt = arena.allocate(el, (long) kOut * d);
        return new Step(new TopKProblem(rows, d, kOut, m, s, vt, MemorySegment.NULL, seed, a.f64 ? DType.F64 : DType.F32),
                nTot, mean, var);
    }

    /** A fresh state holding a merged step's result. */
    public static IncrementalPca fromMerge(int d, int k, Step merged) {
        if (merged.problem().k() != k) throw new IllegalArgumentException("the merged step keeps " + merged.problem().k() + " components, not " + k);
        IncrementalPca p = new IncrementalPca(d, k, merged.problem().dtype() == DType.F64);
        p.commit(merged);
        return p;
    }

    /**
     * A snapshot of a state with components, to move between processes (Java-serialisable, a few times k x d values):
     * what a partition of a distributed EVA run sends instead of its activation rows (docs/eva.md, "Mergeable states").
     * Arrays are owned by the record; do not change them.
     *
     * @param n          samples seen
     * @param mean       d float64 means
     * @param var        d float64 population variances
     * @param singularValues k values, in the state's precision
     * @param components k x d row-major unit rows, in the state's precision
     */
    public record State(int d, int k, boolean float64, long n, double[] mean, double[] var, double[] singularValues,
                        double[] components) implements java.io.Serializable {
        public State {
            if (d < 1 || k < 1 || k > d) throw new IllegalArgumentException("bad state shape d = " + d + ", k = " + k);
            if (n < 1) throw new IllegalArgumentException("a state holds at least one sample, got n = " + n);
            if (mean.length != d || var.length != d || singularValues.length != k || components.length != (long) k * d) {
                throw new IllegalArgumentException("state arrays do not match d = " + d + ", k = " + k);
            }
        }

        /**
         * The payload in bytes as serialised: mean and variance in float64, singular values and components in the
         * state's precision (a float32 state's are float32 values; they travel as such); plus a small constant.
         */
        public long payloadBytes() {
            return 8L * 2 * d + (float64 ? 8L : 4L) * (k + (long) k * d) + 24;
        }

        /** Serialises a float32 state's singular values and components as float32 (they are float32 values). */
        @java.io.Serial
        private Object writeReplace() {
            return float64 ? new Wire(d, k, true, n, mean, var, null, null, singularValues, components)
                    : new Wire(d, k, false, n, mean, var, toFloats(singularValues), toFloats(components), null, null);
        }
    }

    /** The serialised form of a {@link State}. */
    private record Wire(int d, int k, boolean float64, long n, double[] mean, double[] var, float[] s32, float[] v32,
                        double[] s64, double[] v64) implements java.io.Serializable {
        @java.io.Serial
        private Object readResolve() {
            return new State(d, k, float64, n, mean, var, float64 ? s64 : toDoubles(s32), float64 ? v64 : toDoubles(v32));
        }

        private static double[] toDoubles(float[] f) {
            double[] v = new double[f.length];
            for (int i = 0; i < f.length; i++) v[i] = f[i];
            return v;
        }
    }

    /** This state's snapshot (copies); requires components. */
    public State state() {
        if (components == null) throw new IllegalStateException("no components yet: nothing to snapshot");
        return new State(d, k, f64, n, mean.clone(), var.clone(), singularValues.clone(), components.clone());
    }

    /** A state that continues from a snapshot. */
    public static IncrementalPca fromState(State s) {
        IncrementalPca p = new IncrementalPca(s.d(), s.k(), s.float64());
        p.n = s.n();
        p.mean = s.mean().clone();
        p.var = s.var().clone();
        p.singularValues = s.singularValues().clone();
        p.components = s.components().clone();
        double total = 0;
        for (int j = 0; j < p.d; j++) total += p.var[j] * p.n;
        p.explainedVarianceRatio = new double[p.k];
        for (int i = 0; i < p.k; i++) {
            p.explainedVarianceRatio[i] = total > 0 ? p.singularValues[i] * p.singularValues[i] / total : 0;
        }
        return p;
    }

    /**
     * The state of one batch of rows alone (one step from nothing), tracking min(kMax, d, rows) components: with
     * kMax >= min(d, rows) it keeps everything the rows say about their covariance, so merging it loses nothing.
     * Deterministic for a given seed and backend.
     *
     * @param rows at least 1
     */
    public static State of(MemorySegment x, int rows, int d, int kMax, boolean float64, dev.eva4j.spi.SvdBackend svd,
                           dev.eva4j.spi.SvdBackend.Mode mode, long seed) {
        if (rows < 1) throw new IllegalArgumentException("a state needs at least one row");
        if (kMax < 1) throw new IllegalArgumentException("kMax must be >= 1, got " + kMax);
        IncrementalPca p = new IncrementalPca(d, Math.min(kMax, Math.min(d, rows)), float64);
        try (Arena arena = Arena.ofConfined()) {
            Step step = p.prepare(x, rows, arena, seed, false);
            svd.topK(java.util.List.of(step.problem()), mode);
            p.commit(step);
        }
        return p.state();
    }

    /**
     * Merges two snapshots (order matters only to rounding) with the SVD on {@code svd}, keeping min(kMax, d,
     * k_a + k_b) components: {@link #prepareMerge(IncrementalPca, IncrementalPca, int, Arena, long)}, the SVD, and
     * the sign convention of {@link #commit}.
     */
    public static State merge(State a, State b, int kMax, dev.eva4j.spi.SvdBackend svd,
                              dev.eva4j.spi.SvdBackend.Mode mode, long seed) {
        int kOut = Math.min(Math.max(1, kMax), Math.min(a.d(), a.k() + b.k()));
        try (Arena arena = Arena.ofConfined()) {
            Step step = prepareMerge(fromState(a), fromState(b), kOut, arena, seed);
            svd.topK(java.util.List.of(step.problem()), mode);
            return fromMerge(a.d(), kOut, step).state();
        }
    }

    /**
     * Merges {@code other} (any number of components) into this state: the SVD of [diag(S) V; diag(S_o) V_o; c]
     * through {@code svd}, keeping this state's k components; what a step over rows does when {@code other} is the
     * full-rank state of those rows. A state without components adopts {@code other}'s leading k components.
     *
     * @return per component, the cosine similarity with the previous component (null when there were none)
     * @throws IllegalArgumentException when other is of another width or precision, or (for a state without
     *     components) tracks fewer than k components
     */
    public double[] absorb(State other, dev.eva4j.spi.SvdBackend svd, dev.eva4j.spi.SvdBackend.Mode mode, long seed) {
        if (other.d() != d || other.float64() != f64) {
            throw new IllegalArgumentException("cannot absorb a state of another width or precision");
        }
        if (components == null) {
            if (other.k() < k) throw new IllegalArgumentException("a first state needs k = " + k + " components, got " + other.k());
            IncrementalPca o = fromState(other);
            n = o.n;
            mean = o.mean;
            var = o.var;
            singularValues = java.util.Arrays.copyOf(o.singularValues, k);
            components = java.util.Arrays.copyOf(o.components, k * d);
            double total = 0;
            for (int j = 0; j < d; j++) total += var[j] * n;
            explainedVarianceRatio = new double[k];
            for (int i = 0; i < k; i++) explainedVarianceRatio[i] = total > 0 ? singularValues[i] * singularValues[i] / total : 0;
            return null;
        }
        try (Arena arena = Arena.ofConfined()) {
            Step step = prepareMerge(this, fromState(other), k, arena, seed);
            svd.topK(java.util.List.of(step.problem()), mode);
            return commit(step);
        }
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    private static double cosine(double[] a, double[] b, int row, int d) {
        double dot = 0, na = 0, nb = 0;
        for (int j = 0; j < d; j++) {
            double x = a[row * d + j], y = b[row * d + j];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
    }
}
