package dev.eva4j.cpu.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.api.kernels.RowKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C row kernels against the Java ones: the same floats, bit for bit (NaN compared as NaN), on random rows of
 * many widths (whole vectors, tails, fewer than one vector), with and without the optional arguments, and with the
 * outputs aliasing the inputs as the host kernels use them.
 */
class NativeRowKernelsTest {
    private static final RowKernels JAVA = RowKernels.vectorApi();
    private static final int[] WIDTHS = {1, 2, 7, 15, 16, 17, 31, 32, 33, 100, 384, 1000};
    private static final float[] SPECIAL = {0f, -0f, 1e-30f, -1e-30f, 0.5f, -0.5f, 0.921875f, -0.921875f, 3.925f,
        -3.925f, 5.55f, -5.55f, 6f, -6f, 10f, -10f, 100f, -100f, 1e30f, -1e30f, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.NaN, Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE};

    private static RowKernels nativeRows;

    @BeforeAll
    static void load(@TempDir Path cache) {
        RowLibrary.Outcome o = RowLibrary.load(Map.of(OpenBlasLibrary.CACHE_ENV, cache.toString()), null,
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("user.home"));
        if (o instanceof RowLibrary.Loaded l) nativeRows = new NativeRowKernels(l.lookup(), l.path());
    }

    private static boolean built() {
        String dir = "dev/eva4j/cpu/native/" + RowLibrary.platform(System.getProperty("os.name"),
                System.getProperty("os.arch")) + "/";
        return NativeRowKernelsTest.class.getClassLoader().getResource(dir + RowLibrary.LIBRARY) != null;
    }

    @Test
    void theLibraryLoadsWheneverTheBuildMadeIt() {
        if (built()) {
            assertInstanceOf(NativeRowKernels.class, nativeRows, "the build made libeva4j-rows.so but it did not load");
            assertInstanceOf(NativeRowKernels.class, RowLibrary.kernels());
            assertTrue(RowLibrary.description().startsWith("native C"), RowLibrary.description());
        } else {
            assertSame(JAVA, RowLibrary.kernels());
            assertTrue(RowLibrary.description().contains("no native row kernels"), RowLibrary.description());
        }
    }

    @Test
    void choosingJavaOrAnUnknownValueLeavesTheVectorApiKernels(@TempDir Path cache) throws Exception {
        Map<String, String> env = Map.of(OpenBlasLibrary.CACHE_ENV, cache.toString(), RowLibrary.CHOICE_ENV, "java");
        RowLibrary.Outcome o = RowLibrary.load(env, null, "Linux", "amd64", "/nowhere");
        assertEquals(new RowLibrary.Unused("EVA4J_ROW_KERNELS=java"), o);
        o = RowLibrary.load(env, "fast", "Linux", "amd64", "/nowhere");
        assertInstanceOf(RowLibrary.Unused.class, o);
        assertTrue(((RowLibrary.Unused) o).reason().contains("must be native or java, not 'fast'"), o.toString());
        try (var files = Files.list(cache)) {
            assertEquals(0, files.count(), "nothing extracted when the library is not used");
        }
    }

    @Test
    void platformNamesMatchTheBuilds() {
        assertEquals("linux-x86_64", RowLibrary.platform("Linux", "amd64"));
        assertEquals("linux-aarch64", RowLibrary.platform("Linux", "aarch64"));
        assertEquals("mac-aarch64", RowLibrary.platform("Mac OS X", "arm64"));
    }

    @Test
    void residualLayerNormMatchesJavaBitForBit() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(1);
        int N = 5;
        for (int C : WIDTHS) {
            for (int variant = 0; variant < 8; variant++) {
                boolean withSum = (variant & 1) != 0, withBias = (variant & 2) != 0, withStats = (variant & 4) != 0;
                try (Arena arena = Arena.ofConfined()) {
                    float[] sum = random(rnd, N * C, 3, 1.5f), res = random(rnd, N * C, 3, 0f);
                    float[] w = random(rnd, C, 1, 1f), b = random(rnd, C, 1, 0f), bias = random(rnd, C, 1, 0f);
                    Case j = new Case(arena), c = new Case(arena);
                    for (Case k : new Case[] {j, c}) {
                        k.sum = withSum ? k.of(sum) : null;
                        k.res = k.of(res);
                        k.out = k.res; // out may be residual: the models normalise in place
                        k.mean = withStats ? k.zeros(N) : null;
                        k.rstd = withStats ? k.zeros(N) : null;
                    }
                    // rows [1, N - 1): the ends stay untouched
                    JAVA.residualLayerNorm(j.sum, j.out, j.mean, j.rstd, withBias ? j.of(bias) : null, j.res, j.of(w),
                            j.of(b), 1, N - 1, C, 1e-12f);
                    nativeRows.residualLayerNorm(c.sum, c.out, c.mean, c.rstd, withBias ? c.of(bias) : null, c.res,
                            c.of(w), c.of(b), 1, N - 1, C, 1e-12f);
                    String what = "C " + C + " variant " + variant;
                    same(j.out, c.out, what + " out");
                    if (withSum) same(j.sum, c.sum, what + " sum");
                    if (withStats) {
                        same(j.mean, c.mean, what + " mean");
                        same(j.rstd, c.rstd, what + " rstd");
                    }
                }
            }
        }
    }

    @Test
    void rmsNormMatchesJavaBitForBit() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(2);
        int N = 4;
        for (int C : WIDTHS) {
            for (boolean withRstd : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    float[] inp = random(rnd, N * C, 2, 0.3f), w = random(rnd, C, 1, 1f);
                    Case j = new Case(arena), c = new Case(arena);
                    MemorySegment ji = j.of(inp), ci = c.of(inp), jr = withRstd ? j.zeros(N) : null;
                    MemorySegment cr = withRstd ? c.zeros(N) : null;
                    JAVA.rmsNorm(ji, jr, ji, j.of(w), 0, N, C, 1e-6f);
                    nativeRows.rmsNorm(ci, cr, ci, c.of(w), 0, N, C, 1e-6f);
                    same(ji, ci, "C " + C + " out");
                    if (withRstd) same(jr, cr, "C " + C + " rstd");
                }
            }
        }
    }

    @Test
    void biasGeluMatchesJavaBitForBitIncludingExtremeValues() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(3);
        int N = 3;
        for (int C : new int[] {1, 15, 16, 17, 33, 384, 1536}) {
            // 0: preact is inp (matmulGeluForward), 1: no preact, 2: a separate preact, 3: out is inp
            for (int mode = 0; mode < 4; mode++) {
                for (boolean withBias : new boolean[] {false, true}) {
                    try (Arena arena = Arena.ofConfined()) {
                        float[] inp = withSpecials(rnd, random(rnd, N * C, 4, 0f)), bias = random(rnd, C, 1, 0f);
                        Case j = new Case(arena), c = new Case(arena);
                        for (Case k : new Case[] {j, c}) {
                            k.res = k.of(inp); // inp
                            k.out = mode == 3 ? k.res : k.zeros(N * C);
                            k.sum = switch (mode) { // preact
                                case 0 -> k.res;
                                case 2 -> k.zeros(N * C);
                                default -> null;
                            };
                        }
                        JAVA.biasGelu(j.sum, j.out, j.res, withBias ? j.of(bias) : null, 0, N, C);
                        nativeRows.biasGelu(c.sum, c.out, c.res, withBias ? c.of(bias) : null, 0, N, C);
                        String what = "C " + C + " mode " + mode + " bias " + withBias;
                        same(j.out, c.out, what + " out");
                        if (j.sum != null) same(j.sum, c.sum, what + " preact");
                    }
                }
            }
        }
    }

    @Test
    void geluAndAddMatchJavaOnSubranges() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(4);
        int n = 1000;
        try (Arena arena = Arena.ofConfined()) {
            float[] x = withSpecials(rnd, random(rnd, n, 6, 0f)), y = random(rnd, n, 2, 0f);
            Case j = new Case(arena), c = new Case(arena);
            MemorySegment jx = j.of(x), cx = c.of(x), jo = j.zeros(n), co = c.zeros(n);
            for (int[] range : new int[][] {{0, n}, {3, 4}, {5, 21}, {17, 999}}) {
                JAVA.gelu(jo, jx, range[0], range[1]);
                nativeRows.gelu(co, cx, range[0], range[1]);
            }
            same(jo, co, "gelu");
            MemorySegment jy = j.of(y), cy = c.of(y);
            JAVA.add(jy, jy, jx, 9, 990); // out is a
            nativeRows.add(cy, cy, cx, 9, 990);
            same(jy, cy, "add");
        }
    }

    @Test
    void embeddingMatchesJava() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(5);
        int V = 11, N = 9, C = 37;
        try (Arena arena = Arena.ofConfined()) {
            float[] table = random(rnd, V * C, 1, 0f), out = random(rnd, N * C, 1, 0f);
            MemorySegment ids = arena.allocate(ValueLayout.JAVA_INT, N);
            for (int i = 0; i < N; i++) ids.setAtIndex(ValueLayout.JAVA_INT, i, rnd.nextInt(V));
            Case j = new Case(arena), c = new Case(arena);
            for (boolean accumulate : new boolean[] {false, true}) {
                MemorySegment jo = j.of(out), co = c.of(out);
                JAVA.embedding(jo, ids, j.of(table), 2, N, C, accumulate);
                nativeRows.embedding(co, ids, c.of(table), 2, N, C, accumulate);
                same(jo, co, "embedding, accumulate " + accumulate);
            }
        }
    }

    @Test
    void maskedSoftmaxMatchesJavaBitForBit() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(6);
        for (int T : new int[] {1, 3, 8, 15, 16, 17, 40, 128}) {
            for (int maskKind = 0; maskKind < 3; maskKind++) { // none, random zeros (some rows fully hidden), all hidden
                for (boolean causal : new boolean[] {false, true}) {
                    try (Arena arena = Arena.ofConfined()) {
                        float[] scores = random(rnd, T * T, 8, 0f);
                        MemorySegment mask = null;
                        if (maskKind > 0) {
                            mask = arena.allocate(ValueLayout.JAVA_INT, T);
                            for (int s = 0; s < T; s++) {
                                mask.setAtIndex(ValueLayout.JAVA_INT, s, maskKind == 2 || rnd.nextInt(3) == 0 ? 0 : 1);
                            }
                        }
                        Case j = new Case(arena), c = new Case(arena);
                        MemorySegment ja = j.of(scores), ca = c.of(scores);
                        JAVA.maskedSoftmax(ja, mask, T, causal);
                        nativeRows.maskedSoftmax(ca, mask, T, causal);
                        same(ja, ca, "T " + T + " mask " + maskKind + " causal " + causal);
                    }
                }
            }
        }
    }

    @Test
    void geluBackwardMatchesJavaBitForBit() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(7);
        int n = 1000;
        try (Arena arena = Arena.ofConfined()) {
            float[] x = withSpecials(rnd, random(rnd, n, 4, 0f)), d = random(rnd, n, 1, 0f), acc = random(rnd, n, 1, 0f);
            Case j = new Case(arena), c = new Case(arena);
            MemorySegment jd = j.of(acc), cd = c.of(acc);
            for (int[] range : new int[][] {{0, 37}, {37, 38}, {38, 1000}}) {
                JAVA.geluBackward(jd, j.of(d), j.of(x), range[0], range[1]);
                nativeRows.geluBackward(cd, c.of(d), c.of(x), range[0], range[1]);
            }
            same(jd, cd, "geluBackward");
        }
    }

    @Test
    void dropoutMatchesJavaBitForBit() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(8);
        int n = 9000; // more than one Java block of 4096
        for (float p : new float[] {0.05f, 0.5f, 0.9f}) {
            for (boolean add : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    float[] x = random(rnd, n, 1, 0f), out = random(rnd, n, 1, 0f);
                    Case j = new Case(arena), c = new Case(arena);
                    MemorySegment jo = j.of(out), co = c.of(out);
                    long seed = rnd.nextLong();
                    JAVA.dropout(jo, j.of(x), 3, n - 5, p, seed, add);
                    nativeRows.dropout(co, c.of(x), 3, n - 5, p, seed, add);
                    same(jo, co, "dropout p " + p + " add " + add);
                }
            }
        }
    }

    @Test
    void adamwMatchesJavaBitForBit() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(9);
        int n = 777;
        for (int step : new int[] {1, 2, 50}) {
            try (Arena arena = Arena.ofConfined()) {
                float[] p = random(rnd, n, 1, 0f), g = random(rnd, n, 0.1f, 0f), m = random(rnd, n, 0.01f, 0f);
                float[] v = new float[n];
                for (int i = 0; i < n; i++) v[i] = (float) Math.abs(1e-4 * gaussian(rnd));
                double b1 = 0.9f, b2 = 0.999f, lr = 2e-3f, decay = 1 - lr * 0.01f;
                double stepSize = lr / (1 - Math.pow(b1, step)), bc2 = Math.sqrt(1 - Math.pow(b2, step));
                Case j = new Case(arena), c = new Case(arena);
                MemorySegment jp = j.of(p), jm = j.of(m), jv = j.of(v), cp = c.of(p), cm = c.of(m), cv = c.of(v);
                JAVA.adamw(jp, j.of(g), jm, jv, 1, n, b1, b2, decay, stepSize, bc2, 1e-8f);
                nativeRows.adamw(cp, c.of(g), cm, cv, 1, n, b1, b2, decay, stepSize, bc2, 1e-8f);
                same(jp, cp, "adamw params, step " + step);
                same(jm, cm, "adamw m, step " + step);
                same(jv, cv, "adamw v, step " + step);
            }
        }
    }

    @Test
    void layerNormBackwardMatchesJavaBitForBit() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        SplittableRandom rnd = new SplittableRandom(10);
        int N = 6;
        for (int C : WIDTHS) {
            for (int variant = 0; variant < 4; variant++) {
                boolean withInput = (variant & 1) != 0, withParams = (variant & 2) != 0;
                if (!withInput && !withParams) continue;
                try (Arena arena = Arena.ofConfined()) {
                    float[] x = random(rnd, N * C, 2, 0.5f), d = random(rnd, N * C, 1, 0f), w = random(rnd, C, 1, 1f);
                    float[] dx = random(rnd, N * C, 1, 0f), mean = random(rnd, N, 1, 0.5f), rstd = new float[N];
                    for (int i = 0; i < N; i++) rstd[i] = (float) (0.5 + rnd.nextDouble());
                    Case j = new Case(arena), c = new Case(arena);
                    MemorySegment jdx = withInput ? j.of(dx) : null, cdx = withInput ? c.of(dx) : null;
                    MemorySegment jw = withParams ? arena.allocate(ValueLayout.JAVA_DOUBLE, C) : null;
                    MemorySegment jb = withParams ? arena.allocate(ValueLayout.JAVA_DOUBLE, C) : null;
                    MemorySegment cw = withParams ? arena.allocate(ValueLayout.JAVA_DOUBLE, C) : null;
                    MemorySegment cb = withParams ? arena.allocate(ValueLayout.JAVA_DOUBLE, C) : null;
                    for (int[] range : new int[][] {{0, 2}, {2, N}}) { // partial sums carried from one range to the next
                        JAVA.layerNormBackward(jdx, jw, jb, j.of(d), j.of(x), j.of(w), j.of(mean), j.of(rstd), range[0],
                                range[1], C);
                        nativeRows.layerNormBackward(cdx, cw, cb, c.of(d), c.of(x), c.of(w), c.of(mean), c.of(rstd),
                                range[0], range[1], C);
                    }
                    String what = "C " + C + " variant " + variant;
                    if (withInput) same(jdx, cdx, what + " dinp");
                    if (withParams) {
                        for (int i = 0; i < C; i++) {
                            assertEquals(jw.getAtIndex(ValueLayout.JAVA_DOUBLE, i), cw.getAtIndex(ValueLayout.JAVA_DOUBLE, i),
                                    what + " dweight " + i);
                            assertEquals(jb.getAtIndex(ValueLayout.JAVA_DOUBLE, i), cb.getAtIndex(ValueLayout.JAVA_DOUBLE, i),
                                    what + " dbias " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void heapSegmentsRunInJava() {
        assumeTrue(nativeRows != null, "no native row kernels in this build");
        float[] x = {-1f, 0.5f, 2f}, viaNative = new float[3], viaJava = new float[3];
        nativeRows.gelu(MemorySegment.ofArray(viaNative), MemorySegment.ofArray(x), 0, 3);
        JAVA.gelu(MemorySegment.ofArray(viaJava), MemorySegment.ofArray(x), 0, 3);
        for (int i = 0; i < 3; i++) assertEquals(viaJava[i], viaNative[i]);
    }

    /** Segments of one side of a comparison. */
    private static final class Case {
        final Arena arena;
        MemorySegment sum, out, res, mean, rstd;

        Case(Arena arena) {
            this.arena = arena;
        }

        MemorySegment of(float[] values) {
            return arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
        }

        MemorySegment zeros(int n) {
            return arena.allocate(ValueLayout.JAVA_FLOAT, n);
        }
    }

    /** n normal values times {@code scale}, plus {@code offset}. */
    private static float[] random(SplittableRandom rnd, int n, float scale, float offset) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (offset + scale * gaussian(rnd));
        return x;
    }

    private static double gaussian(SplittableRandom rnd) {
        return Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    /** x with a special value at every 5th position. */
    private static float[] withSpecials(SplittableRandom rnd, float[] x) {
        for (int i = 0; i < x.length; i += 5) x[i] = SPECIAL[rnd.nextInt(SPECIAL.length)];
        return x;
    }

    private static void same(MemorySegment expected, MemorySegment actual, String what) {
        long n = expected.byteSize() / Float.BYTES;
        for (long i = 0; i < n; i++) {
            float e = expected.getAtIndex(ValueLayout.JAVA_FLOAT, i), a = actual.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (Float.floatToIntBits(e) != Float.floatToIntBits(a)) {
                throw new AssertionError(what + ": element " + i + " is " + a + " (0x"
                        + Integer.toHexString(Float.floatToRawIntBits(a)) + "), Java gives " + e + " (0x"
                        + Integer.toHexString(Float.floatToRawIntBits(e)) + ")");
            }
        }
    }
}
