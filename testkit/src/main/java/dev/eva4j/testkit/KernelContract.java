package dev.eva4j.testkit;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;
import org.opentest4j.AssertionFailedError;

/**
 * The contract every compute backend passes — ours and third parties'. Depend on eva4j-testkit in test scope and
 * subclass this class, giving the kernels under test:
 *
 * <pre>{@code
 * class MyBackendContractTest extends KernelContract {
 *     @Override
 *     protected Kernels kernels() {
 *         return new MyBackend().kernels();
 *     }
 * }
 * }</pre>
 *
 * {@link #kernels()} is called once per test class (the instance lifecycle is per class), and every buffer a test
 * allocates is closed after it.
 *
 * <p><b>What is checked.</b> Every kernel of {@link Kernels} runs on the backend and on {@link ReferenceKernels} (the
 * float64 oracle) with identical inputs: values drawn in double from fixed seeds and rounded to float32, so that both
 * sides see the same numbers. Shapes include odd and prime sizes (N=7, C=13, V=11, T=5, HS=6, NH=6 over NKV=2, R=3,
 * ...) and one shape per kernel of more than 65,536 elements (so that a backend that splits large work across
 * threads does so here), padding masks (a sequence with trailing padding, one fully padded), causal and bidirectional attention, GQA,
 * LoRA with dropout 0 and 0.3, cross-entropy rows ignored with -100 (and a batch with every row ignored), three AdamW
 * steps with weight decay, and the in-place calls the Javadoc allows. For a forward pass every output is compared,
 * including what it saves for the backward pass (mean, rstd, attention probabilities, LoRA's xa, softmax probs).
 * A backward pass runs on what each side's own forward saved and is checked three ways: every gradient output against
 * the reference when all are given; each gradient output pre-filled with the same non-zero values on both sides (a
 * backend that overwrites instead of adding fails); and once per gradient output with that one null (the others still
 * checked). Outputs are pre-filled with junk (a forward overwrites), and every buffer holds a few NaN elements past
 * what the shape needs: a kernel that reads them into a result or writes them fails. Bad input — a buffer one
 * element short, of the wrong dtype, of another backend, already closed, or null where the Javadoc does not allow
 * it, and ids or targets out of range — must be an {@link IllegalArgumentException} whose message names the operand
 * by its parameter name in {@link Kernels}.
 *
 * <p><b>Tolerance.</b> Norm-wise relative: {@code max_i |backend[i] - reference[i]| <= 1e-5 * max_i |reference[i]|}
 * per output tensor ({@link #TOLERANCE}, {@link Compare}); scalars (loss, norm) relative to their magnitude. A result
 * the reference computes as exactly zero must be exactly zero. The reference's own backward passes are checked against
 * float64 central finite differences in the kit's tests (<= 1e-6). RoPE positions stay below 16, so that an angle
 * computed in float32 (as the Javadoc allows) stays well inside the tolerance.
 *
 * <p><b>Failures</b> name the kernel, the shape and the operand, and print the largest difference with its index and
 * the first values of both sides.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class KernelContract {

    /** Norm-wise relative tolerance of every comparison against the reference. */
    public static final double TOLERANCE = 1e-5;

    private static final float EPS = 1e-5f;
    private static final int IGNORE = -100;

    private final ReferenceKernels reference = new ReferenceKernels();
    private final List<Buffer> allocated = new ArrayList<>();
    private Kernels backend;
    private Side backendSide;
    private Side referenceSide;

    /** The kernels under test; called once per test class. */
    protected abstract Kernels kernels();

    @BeforeAll
    public final void startBackend() {
        backend = kernels();
        assertNotNull(backend, "kernels() returned null");
        backendSide = new Side(backend, false);
        referenceSide = new Side(reference, true);
    }

    @AfterEach
    public final void closeBuffers() {
        for (Buffer b : allocated) b.close();
        allocated.clear();
    }

    // ------------------------------------------------------------------------------------------------ shapes

    private record Rows(int N, int C) {}

    private record Emb(int N, int V, int C) {}

    private record Lin(int N, int IN, int OUT, boolean bias) {}

    private record Lora(int N, int IN, int OUT, int R, float dropout, boolean bias) {}

    private record Attn(int B, int T, int NH, int NKV, int HS, boolean causal, boolean padded) {}

    private record Rope(int N, int H, int HS) {}

    private record Elems(long n) {}

    /** Cross-entropy; {@code ignored}: which rows have target -100 (NONE, SOME: every third from row 1, ALL). */
    private record Ce(int N, int V, String ignored) {}

    private record Pool(int B, int T, int C) {}

    private record Adam(long n, float lr, float weightDecay) {}

    private static final List<Rows> ROWS = List.of(new Rows(7, 13), new Rows(3, 5), new Rows(4, 64), new Rows(1, 2),
            new Rows(5, 1), new Rows(300, 257));
    private static final List<Emb> EMBS = List.of(new Emb(7, 11, 13), new Emb(5, 3, 4), new Emb(1, 1, 1),
            new Emb(16, 5, 64), new Emb(600, 37, 128));
    private static final List<Lin> LINS = List.of(new Lin(7, 13, 11, true), new Lin(5, 6, 3, false),
            new Lin(1, 17, 1, true), new Lin(16, 64, 24, true), new Lin(3, 1, 2, false), new Lin(300, 256, 96, true));
    private static final List<Lora> LORAS = List.of(new Lora(7, 13, 11, 3, 0f, true),
            new Lora(7, 13, 11, 3, 0.3f, true), new Lora(5, 6, 7, 1, 0f, false), new Lora(5, 6, 7, 1, 0.3f, false),
            new Lora(16, 32, 24, 8, 0.3f, true), new Lora(1, 3, 2, 2, 0.3f, false),
            new Lora(300, 256, 96, 8, 0.3f, true), new Lora(9, 80, 72, 70, 0.3f, true), new Lora(9, 80, 72, 70, 0f, false));
    private static final List<Attn> ATTNS = attentionShapes();
    private static final List<Rope> ROPES = List.of(new Rope(5, 6, 6), new Rope(7, 2, 4), new Rope(3, 3, 2),
            new Rope(4, 2, 64), new Rope(1200, 4, 16));
    private static final List<Elems> ELEMS = List.of(new Elems(1), new Elems(7), new Elems(65), new Elems(1031), new Elems(70001));
    private static final List<Ce> CES = List.of(new Ce(7, 11, "SOME"), new Ce(5, 3, "NONE"), new Ce(4, 50, "SOME"),
            new Ce(3, 2, "NONE"), new Ce(4, 5, "ALL"), new Ce(300, 257, "SOME"));
    private static final List<Pool> POOLS = List.of(new Pool(3, 5, 7), new Pool(2, 1, 3), new Pool(4, 6, 13),
            new Pool(1, 4, 1), new Pool(4, 130, 130));
    private static final List<Adam> ADAMS = List.of(new Adam(7, 1e-2f, 0.01f), new Adam(1031, 1e-2f, 0.01f),
            new Adam(13, 0.1f, 0f), new Adam(70001, 1e-2f, 0.01f));

    private static List<Attn> attentionShapes() {
        int[][] bases = {{2, 5, 6, 2, 6}, {3, 5, 6, 2, 6}, {3, 7, 3, 3, 4}, {1, 1, 2, 1, 2}, {2, 4, 4, 1, 8}};
        List<Attn> shapes = new ArrayList<>();
        for (int[] s : bases) {
            for (boolean causal : new boolean[] {false, true}) {
                for (boolean padded : new boolean[] {false, true}) {
                    shapes.add(new Attn(s[0], s[1], s[2], s[3], s[4], causal, padded));
                }
            }
        }
        shapes.add(new Attn(4, 70, 4, 2, 16, true, true)); // large: 78,400 attention scores
        return List.copyOf(shapes);
    }

    // ------------------------------------------------------------------------------------------------ memory

    @Test
    public void capabilitiesMatchTheFloatType() {
        assertTrue(backend.floatType() == DType.F32 || backend.floatType() == DType.F64,
                "floatType() is " + backend.floatType());
        assertEquals(backend.floatType() == DType.F64, backend.has(Capability.FLOAT64),
                "FLOAT64 is listed exactly when floatType() is F64");
        assertNotNull(backend.name());
    }

    @Test
    public void allocateIsZeroFilled() {
        Buffer b = keep(backend.allocateFloats(37));
        assertEquals(37, b.length());
        assertEquals(backend.floatType(), b.dtype());
        assertTrue(b.isAlive());
        assertArrayEquals("allocateFloats(37)", new double[37], download(b, 0, 37));
        Buffer ints = keep(backend.allocate(DType.I32, 5));
        assertEquals(DType.I32, ints.dtype());
        assertEquals(20, ints.byteSize());
    }

    @Test
    public void uploadAndDownloadRoundTrip() {
        Random rnd = new Random(11);
        double[] values = gaussian(rnd, 9, 1, 0);
        Buffer b = keep(backend.allocateFloats(20));
        backend.upload(b, 3, values);
        double[] back = download(b, 0, 20);
        double[] expected = new double[20];
        System.arraycopy(values, 0, expected, 3, 9);
        assertArrayEquals("upload(double[]) at offset 3, download(double[])", expected, back);

        float[] floats = new float[5];
        for (int i = 0; i < floats.length; i++) floats[i] = (float) rnd.nextGaussian();
        backend.upload(b, 15, floats);
        float[] floatsBack = new float[5];
        backend.download(b, 15, floatsBack);
        assertEquals(Arrays.toString(floats), Arrays.toString(floatsBack), "upload(float[]) then download(float[])");

        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_FLOAT, 6);
            for (int i = 0; i < 6; i++) host.setAtIndex(ValueLayout.JAVA_FLOAT, i, i * 0.5f - 1);
            backend.uploadFloats(b, 1, host);
            MemorySegment hostBack = arena.allocate(ValueLayout.JAVA_FLOAT, 6);
            backend.downloadFloats(b, 1, hostBack);
            for (int i = 0; i < 6; i++) {
                assertEquals(i * 0.5f - 1, hostBack.getAtIndex(ValueLayout.JAVA_FLOAT, i),
                        "uploadFloats then downloadFloats, element " + i);
            }
        }
    }

    @Test
    public void uploadRoundsDoublesToTheFloatType() {
        Buffer b = keep(backend.allocateFloats(1));
        backend.upload(b, 0, new double[] {0.1});
        double expected = backend.floatType() == DType.F64 ? 0.1 : (double) 0.1f;
        assertEquals(expected, download(b, 0, 1)[0], "0.1 uploaded to a " + backend.floatType() + " buffer");
    }

    @Test
    public void sliceIsAViewIntoItsParent() {
        Buffer parent = keep(backend.allocateFloats(10));
        Buffer view = parent.slice(2, 5);
        assertEquals(5, view.length());
        backend.upload(view, 0, new double[] {1, 2, 3, 4, 5});
        Buffer inner = view.slice(1, 3);
        backend.fill(inner, 9, 3);
        assertArrayEquals("parent after writing through views", new double[] {0, 0, 1, 9, 9, 9, 5, 0, 0, 0},
                download(parent, 0, 10));
        assertArrayEquals("a view reads its parent", new double[] {9, 9, 9}, download(inner, 0, 3));
        view.close();
        assertTrue(parent.isAlive(), "closing a view frees nothing");
        parent.close();
        assertFalse(parent.isAlive(), "closed parent");
        assertFalse(inner.isAlive(), "a view of a closed parent");
        parent.close(); // a second close is a no-op
    }

    @Test
    public void copyFillAndScale() {
        Buffer src = keep(backend.allocateFloats(6));
        Buffer dst = keep(backend.allocateFloats(8));
        backend.upload(src, 0, new double[] {1, -2, 3, -4, 5, -6});
        backend.fill(dst, 7, 8);
        backend.copy(dst, src, 5);
        assertArrayEquals("copy 5 of 6 into a filled buffer of 8", new double[] {1, -2, 3, -4, 5, 7, 7, 7},
                download(dst, 0, 8));
        backend.scale(dst, -0.5, 6);
        assertArrayEquals("scale the first 6 by -0.5", new double[] {-0.5, 1, -1.5, 2, -2.5, -3.5, 7, 7},
                download(dst, 0, 8));
        backend.fill(dst, 0.25, 3);
        assertArrayEquals("fill the first 3", new double[] {0.25, 0.25, 0.25, 2, -2.5, -3.5, 7, 7},
                download(dst, 0, 8));
        Buffer ints = keep(backend.allocate(DType.I32, 8));
        expectRejected("copy from an I32 buffer into a float buffer", () -> backend.copy(dst, ints, 4), "src", "dst");
    }

    @Test
    public void hostSegmentOnlyWithHostMemory() {
        Buffer b = keep(backend.allocateFloats(4));
        backend.upload(b, 0, new double[] {1, 2, 3, 4});
        Optional<MemorySegment> segment = backend.hostSegment(b);
        if (!backend.has(Capability.HOST_MEMORY)) {
            assertTrue(segment.isEmpty(), "hostSegment without HOST_MEMORY");
            return;
        }
        assertTrue(segment.isPresent(), "hostSegment with HOST_MEMORY");
        assertTrue(segment.get().byteSize() >= 4L * backend.floatType().bytes(), "host segment of 4 elements");
        for (int i = 0; i < 4; i++) {
            double value = backend.floatType() == DType.F32
                    ? segment.get().getAtIndex(ValueLayout.JAVA_FLOAT, i)
                    : segment.get().getAtIndex(ValueLayout.JAVA_DOUBLE, i);
            assertEquals(i + 1, value, "host segment element " + i);
        }
    }

    @Test
    public void uploadAndDownloadOutsideTheBufferAreRejected() {
        Buffer b = keep(backend.allocateFloats(4));
        expectRejected("upload past the end", "dst", () -> backend.upload(b, 1, new double[4]));
        expectRejected("upload(float[]) past the end", "dst", () -> backend.upload(b, 2, new float[3]));
        expectRejected("download past the end", "src", () -> backend.download(b, 1, new double[4]));
        expectRejected("download(float[]) past the end", "src", () -> backend.download(b, 3, new float[2]));
        Buffer ints = keep(backend.allocate(DType.I32, 4));
        expectRejected("upload(int[]) past the end", "dst", () -> backend.upload(ints, 2, new int[3]));
        Buffer foreign = keep(new ReferenceKernels().allocate(backend.floatType(), 4));
        expectRejected("upload into another backend's buffer", "dst", () -> backend.upload(foreign, 0, new double[2]));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_FLOAT, 5);
            expectRejected("uploadFloats past the end", "dst", () -> backend.uploadFloats(b, 0, host));
            expectRejected("downloadFloats past the end", "src", () -> backend.downloadFloats(b, 0, host));
        }
    }

    /** Kernels on views at odd offsets into one parameter block and one gradient block, as models use them. */
    @Test
    public void kernelsOnViews() {
        Random rnd = new Random(99);
        int N = 5, IN = 7, OUT = 3;
        int weightAt = 3, biasAt = weightAt + OUT * IN + 5, blockLength = biasAt + OUT + 6;
        Twin params = floats(block(rnd, blockLength, weightAt, OUT * IN, biasAt, OUT));
        Twin weight = params.slice(weightAt, OUT * IN);
        Twin bias = params.slice(biasAt, OUT);
        Twin inp = random(rnd, N * IN, 1);
        Twin out = random(rnd, N * OUT, 1);
        both(sd -> sd.k().matmulForward(out.at(sd), inp.at(sd), weight.at(sd), bias.at(sd), N, IN, OUT));
        expect("matmulForward on views: out", out);

        Twin grads = floats(block(rnd, blockLength, weightAt, OUT * IN, biasAt, OUT));
        Twin dweight = grads.slice(weightAt, OUT * IN);
        Twin dbias = grads.slice(biasAt, OUT);
        Twin dout = random(rnd, N * OUT, 1);
        both(sd -> sd.k().matmulBackward(null, dweight.at(sd), dbias.at(sd), dout.at(sd), inp.at(sd), weight.at(sd),
                N, IN, OUT));
        expect("matmulBackward on views: dweight", dweight);
        expect("matmulBackward on views: dbias", dbias);

        Twin m = floats(block(rnd, blockLength, weightAt, OUT * IN, biasAt, OUT));
        Twin v = floats(block(rnd, blockLength, weightAt, OUT * IN, biasAt, OUT));
        both(sd -> sd.k().scale(v.slice(weightAt, OUT * IN).at(sd), 0, OUT * IN)); // v >= 0
        both(sd -> sd.k().adamw(weight.at(sd), dweight.at(sd), m.slice(weightAt, OUT * IN).at(sd),
                v.slice(weightAt, OUT * IN).at(sd), OUT * IN, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, 1));
        expect("adamw on views: params", weight);
        expect("adamw on views: m", m.slice(weightAt, OUT * IN));
        expect("adamw on views: v", v.slice(weightAt, OUT * IN));
        expect("bias after adamw on the weight's view (untouched)", bias);
    }

    /** NaN everywhere except two runs of random values: [at1, at1 + n1) and [at2, at2 + n2). */
    private static double[] block(Random rnd, int length, int at1, int n1, int at2, int n2) {
        double[] block = new double[length];
        Arrays.fill(block, Double.NaN);
        double[] first = gaussian(rnd, n1, 1, 0);
        double[] second = gaussian(rnd, n2, 1, 0);
        System.arraycopy(first, 0, block, at1, n1);
        System.arraycopy(second, 0, block, at2, n2);
        return block;
    }

    // ------------------------------------------------------------------------------------------------ embeddings

    @Test
    public void embeddingForward() {
        cases("embeddingForward", EMBS, (s, rnd) -> {
            Twin ids = ints(ids(rnd, s.N, s.V));
            Twin table = random(rnd, (long) s.V * s.C, 1);
            for (boolean accumulate : new boolean[] {false, true}) {
                Twin out = random(rnd, (long) s.N * s.C, 1);
                both(sd -> sd.k().embeddingForward(out.at(sd), ids.at(sd), table.at(sd), s.N, s.V, s.C, accumulate));
                expect(what("embeddingForward", s, accumulate ? "out (accumulate)" : "out"), out);
            }
        });
    }

    @Test
    public void embeddingBackward() {
        cases("embeddingBackward", EMBS, (s, rnd) -> {
            Twin ids = ints(ids(rnd, s.N, s.V));
            Twin dout = random(rnd, (long) s.N * s.C, 1);
            backward("embeddingBackward", s, rnd, List.of("dtable"), List.of((long) s.V * s.C),
                    (sd, g) -> sd.k().embeddingBackward(g[0], dout.at(sd), ids.at(sd), s.N, s.V, s.C));
        });
    }

    // ---------------------------------------------------------------------------------------------------- norms

    @Test
    public void layerNormForward() {
        cases("layerNormForward", ROWS, (s, rnd) -> {
            double[] x = gaussian(rnd, (long) s.N * s.C, 2, 0.5);
            Twin inp = floats(x);
            Twin weight = random(rnd, s.C, 1);
            Twin bias = random(rnd, s.C, 1);
            Twin out = random(rnd, (long) s.N * s.C, 1);
            Twin mean = random(rnd, s.N, 1);
            Twin rstd = random(rnd, s.N, 1);
            both(sd -> sd.k().layerNormForward(out.at(sd), mean.at(sd), rstd.at(sd), inp.at(sd), weight.at(sd),
                    bias.at(sd), s.N, s.C, EPS));
            expect(what("layerNormForward", s, "out"), out);
            expect(what("layerNormForward", s, "mean"), mean);
            expect(what("layerNormForward", s, "rstd"), rstd);

            Twin inference = random(rnd, (long) s.N * s.C, 1);
            both(sd -> sd.k().layerNormForward(inference.at(sd), null, null, inp.at(sd), weight.at(sd), bias.at(sd),
                    s.N, s.C, EPS));
            expect(what("layerNormForward", s, "out (mean and rstd null)"), inference);

            Twin inPlace = floats(x);
            both(sd -> sd.k().layerNormForward(inPlace.at(sd), null, null, inPlace.at(sd), weight.at(sd),
                    bias.at(sd), s.N, s.C, EPS));
            expect(what("layerNormForward", s, "out (in place, out = inp)"), inPlace);
        });
    }

    @Test
    public void layerNormBackward() {
        cases("layerNormBackward", ROWS, (s, rnd) -> {
            Twin inp = floats(gaussian(rnd, (long) s.N * s.C, 2, 0.5));
            Twin weight = random(rnd, s.C, 1);
            Twin bias = random(rnd, s.C, 1);
            Twin out = random(rnd, (long) s.N * s.C, 1);
            Twin mean = random(rnd, s.N, 1);
            Twin rstd = random(rnd, s.N, 1);
            both(sd -> sd.k().layerNormForward(out.at(sd), mean.at(sd), rstd.at(sd), inp.at(sd), weight.at(sd),
                    bias.at(sd), s.N, s.C, EPS));
            Twin dout = random(rnd, (long) s.N * s.C, 1);
            backward("layerNormBackward", s, rnd, List.of("dinp", "dweight", "dbias"),
                    List.of((long) s.N * s.C, (long) s.C, (long) s.C),
                    (sd, g) -> sd.k().layerNormBackward(g[0], g[1], g[2], dout.at(sd), inp.at(sd), weight.at(sd),
                            mean.at(sd), rstd.at(sd), s.N, s.C));
        });
    }

    @Test
    public void rmsNormForward() {
        cases("rmsNormForward", ROWS, (s, rnd) -> {
            double[] x = gaussian(rnd, (long) s.N * s.C, 2, 0.5);
            Twin inp = floats(x);
            Twin weight = random(rnd, s.C, 1);
            Twin out = random(rnd, (long) s.N * s.C, 1);
            Twin rstd = random(rnd, s.N, 1);
            both(sd -> sd.k().rmsNormForward(out.at(sd), rstd.at(sd), inp.at(sd), weight.at(sd), s.N, s.C, EPS));
            expect(what("rmsNormForward", s, "out"), out);
            expect(what("rmsNormForward", s, "rstd"), rstd);

            Twin inference = random(rnd, (long) s.N * s.C, 1);
            both(sd -> sd.k().rmsNormForward(inference.at(sd), null, inp.at(sd), weight.at(sd), s.N, s.C, EPS));
            expect(what("rmsNormForward", s, "out (rstd null)"), inference);

            Twin inPlace = floats(x);
            both(sd -> sd.k().rmsNormForward(inPlace.at(sd), null, inPlace.at(sd), weight.at(sd), s.N, s.C, EPS));
            expect(what("rmsNormForward", s, "out (in place, out = inp)"), inPlace);
        });
    }

    @Test
    public void rmsNormBackward() {
        cases("rmsNormBackward", ROWS, (s, rnd) -> {
            Twin inp = floats(gaussian(rnd, (long) s.N * s.C, 2, 0.5));
            Twin weight = random(rnd, s.C, 1);
            Twin out = random(rnd, (long) s.N * s.C, 1);
            Twin rstd = random(rnd, s.N, 1);
            both(sd -> sd.k().rmsNormForward(out.at(sd), rstd.at(sd), inp.at(sd), weight.at(sd), s.N, s.C, EPS));
            Twin dout = random(rnd, (long) s.N * s.C, 1);
            backward("rmsNormBackward", s, rnd, List.of("dinp", "dweight"), List.of((long) s.N * s.C, (long) s.C),
                    (sd, g) -> sd.k().rmsNormBackward(g[0], g[1], dout.at(sd), inp.at(sd), weight.at(sd),
                            rstd.at(sd), s.N, s.C));
        });
    }

    // -------------------------------------------------------------------------------------------------- linear

    @Test
    public void matmulForward() {
        cases("matmulForward", LINS, (s, rnd) -> {
            Twin inp = random(rnd, (long) s.N * s.IN, 1);
            Twin weight = random(rnd, (long) s.OUT * s.IN, 1);
            Twin bias = s.bias ? random(rnd, s.OUT, 1) : null;
            Twin out = random(rnd, (long) s.N * s.OUT, 1);
            both(sd -> sd.k().matmulForward(out.at(sd), inp.at(sd), weight.at(sd), at(bias, sd), s.N, s.IN, s.OUT));
            expect(what("matmulForward", s, "out"), out);
        });
    }

    @Test
    public void matmulGeluForward() {
        cases("matmulGeluForward", LINS, (s, rnd) -> {
            // inputs scaled so that preact stays near the GELU's bend: far in its negative tail gelu is tiny and
            // amplifies preact's float32 rounding, which is a property of GELU, not of the fusion
            Twin inp = random(rnd, (long) s.N * s.IN, 1 / Math.sqrt(s.IN));
            Twin weight = random(rnd, (long) s.OUT * s.IN, 1);
            Twin bias = s.bias ? random(rnd, s.OUT, 1) : null;
            Twin preact = random(rnd, (long) s.N * s.OUT, 1);
            Twin out = random(rnd, (long) s.N * s.OUT, 1);
            both(sd -> sd.k().matmulGeluForward(preact.at(sd), out.at(sd), inp.at(sd), weight.at(sd), at(bias, sd),
                    s.N, s.IN, s.OUT));
            expect(what("matmulGeluForward", s, "preact"), preact);
            expect(what("matmulGeluForward", s, "out"), out);

            Twin inPlace = random(rnd, (long) s.N * s.OUT, 1);
            both(sd -> sd.k().matmulGeluForward(inPlace.at(sd), inPlace.at(sd), inp.at(sd), weight.at(sd),
                    at(bias, sd), s.N, s.IN, s.OUT));
            expect(what("matmulGeluForward", s, "out (in place, out = preact)"), inPlace);
        });
    }

    @Test
    public void matmulResidualLayerNormForward() {
        cases("matmulResidualLayerNormForward", LINS, (s, rnd) -> {
            int C = s.OUT;
            Twin inp = random(rnd, (long) s.N * s.IN, 1);
            Twin weight = random(rnd, (long) C * s.IN, 1);
            Twin bias = s.bias ? random(rnd, C, 1) : null;
            double[] r = gaussian(rnd, (long) s.N * C, 2, 0.5);
            Twin residual = floats(r);
            Twin lnWeight = random(rnd, C, 1);
            Twin lnBias = random(rnd, C, 1);
            Twin sum = random(rnd, (long) s.N * C, 1);
            Twin out = random(rnd, (long) s.N * C, 1);
            Twin mean = random(rnd, s.N, 1);
            Twin rstd = random(rnd, s.N, 1);
            both(sd -> sd.k().matmulResidualLayerNormForward(sum.at(sd), out.at(sd), mean.at(sd), rstd.at(sd),
                    inp.at(sd), weight.at(sd), at(bias, sd), residual.at(sd), lnWeight.at(sd), lnBias.at(sd), s.N,
                    s.IN, C, EPS));
            expect(what("matmulResidualLayerNormForward", s, "sum"), sum);
            expect(what("matmulResidualLayerNormForward", s, "out"), out);
            expect(what("matmulResidualLayerNormForward", s, "mean"), mean);
            expect(what("matmulResidualLayerNormForward", s, "rstd"), rstd);

            // inference: no statistics, the output over the residual (a post-norm block's stream)
            Twin stream = floats(r);
            Twin sum2 = random(rnd, (long) s.N * C, 1);
            both(sd -> sd.k().matmulResidualLayerNormForward(sum2.at(sd), stream.at(sd), null, null, inp.at(sd),
                    weight.at(sd), at(bias, sd), stream.at(sd), lnWeight.at(sd), lnBias.at(sd), s.N, s.IN, C, EPS));
            expect(what("matmulResidualLayerNormForward", s, "sum (out = residual, no statistics)"), sum2);
            expect(what("matmulResidualLayerNormForward", s, "out (out = residual, no statistics)"), stream);
        });
    }

    @Test
    public void matmulBackward() {
        cases("matmulBackward", LINS, (s, rnd) -> {
            Twin inp = random(rnd, (long) s.N * s.IN, 1);
            Twin weight = random(rnd, (long) s.OUT * s.IN, 1);
            Twin dout = random(rnd, (long) s.N * s.OUT, 1);
            backward("matmulBackward", s, rnd, List.of("dinp", "dweight", "dbias"),
                    List.of((long) s.N * s.IN, (long) s.OUT * s.IN, (long) s.OUT),
                    (sd, g) -> sd.k().matmulBackward(g[0], g[1], g[2], dout.at(sd), inp.at(sd), weight.at(sd),
                            s.N, s.IN, s.OUT));
        });
    }

    @Test
    public void loraForward() {
        cases("loraForward", LORAS, (s, rnd) -> {
            LoraInputs in = loraInputs(s, rnd);
            Twin out = random(rnd, (long) s.N * s.OUT, 1);
            Twin xa = random(rnd, (long) s.N * s.R, 1);
            both(sd -> sd.k().loraForward(out.at(sd), xa.at(sd), in.inp.at(sd), in.weight.at(sd), at(in.bias, sd),
                    in.a.at(sd), in.b.at(sd), in.scale, s.dropout, in.seed, s.N, s.IN, s.OUT, s.R));
            expect(what("loraForward", s, "out"), out);
            expect(what("loraForward", s, "xa"), xa);
        });
    }

    @Test
    public void loraBackward() {
        cases("loraBackward", LORAS, (s, rnd) -> {
            LoraInputs in = loraInputs(s, rnd);
            Twin out = random(rnd, (long) s.N * s.OUT, 1);
            Twin xa = random(rnd, (long) s.N * s.R, 1);
            both(sd -> sd.k().loraForward(out.at(sd), xa.at(sd), in.inp.at(sd), in.weight.at(sd), at(in.bias, sd),
                    in.a.at(sd), in.b.at(sd), in.scale, s.dropout, in.seed, s.N, s.IN, s.OUT, s.R));
            Twin dout = random(rnd, (long) s.N * s.OUT, 1);
            backward("loraBackward", s, rnd, List.of("dinp", "da", "db"),
                    List.of((long) s.N * s.IN, (long) s.R * s.IN, (long) s.OUT * s.R),
                    (sd, g) -> sd.k().loraBackward(g[0], g[1], g[2], dout.at(sd), in.inp.at(sd), xa.at(sd),
                            in.weight.at(sd), in.a.at(sd), in.b.at(sd), in.scale, s.dropout, in.seed,
                            s.N, s.IN, s.OUT, s.R));
        });
    }

    private record LoraInputs(Twin inp, Twin weight, Twin bias, Twin a, Twin b, float scale, long seed) {}

    private LoraInputs loraInputs(Lora s, Random rnd) {
        return new LoraInputs(random(rnd, (long) s.N * s.IN, 1), random(rnd, (long) s.OUT * s.IN, 1),
                s.bias ? random(rnd, s.OUT, 1) : null, random(rnd, (long) s.R * s.IN, 0.5),
                random(rnd, (long) s.OUT * s.R, 0.5), 2f, rnd.nextLong());
    }

    // ----------------------------------------------------------------------------------------------- attention

    @Test
    public void attentionForward() {
        cases("attentionForward", ATTNS, (s, rnd) -> {
            AttentionInputs in = attentionInputs(s, rnd);
            Twin out = random(rnd, in.qLength, 1);
            Twin att = random(rnd, (long) s.B * s.NH * s.T * s.T, 1);
            both(sd -> sd.k().attentionForward(out.at(sd), att.at(sd), in.q.at(sd), in.k.at(sd), in.v.at(sd),
                    at(in.mask, sd), s.B, s.T, s.NH, s.NKV, s.HS, s.causal));
            expect(what("attentionForward", s, "out"), out);
            expect(what("attentionForward", s, "att"), att);

            Twin inference = random(rnd, in.qLength, 1);
            both(sd -> sd.k().attentionForward(inference.at(sd), null, in.q.at(sd), in.k.at(sd), in.v.at(sd),
                    at(in.mask, sd), s.B, s.T, s.NH, s.NKV, s.HS, s.causal));
            expect(what("attentionForward", s, "out (att null)"), inference);
        });
    }

    @Test
    public void attentionBackward() {
        cases("attentionBackward", ATTNS, (s, rnd) -> {
            AttentionInputs in = attentionInputs(s, rnd);
            Twin out = random(rnd, in.qLength, 1);
            Twin att = random(rnd, (long) s.B * s.NH * s.T * s.T, 1);
            both(sd -> sd.k().attentionForward(out.at(sd), att.at(sd), in.q.at(sd), in.k.at(sd), in.v.at(sd),
                    at(in.mask, sd), s.B, s.T, s.NH, s.NKV, s.HS, s.causal));
            Twin dout = random(rnd, in.qLength, 1);
            backward("attentionBackward", s, rnd, List.of("dq", "dk", "dv"),
                    List.of(in.qLength, in.kvLength, in.kvLength),
                    (sd, g) -> sd.k().attentionBackward(g[0], g[1], g[2], dout.at(sd), in.q.at(sd), in.k.at(sd),
                            in.v.at(sd), att.at(sd), s.B, s.T, s.NH, s.NKV, s.HS));
        });
    }

    private record AttentionInputs(Twin q, Twin k, Twin v, Twin mask, long qLength, long kvLength) {}

    private AttentionInputs attentionInputs(Attn s, Random rnd) {
        long qLength = (long) s.B * s.T * s.NH * s.HS;
        long kvLength = (long) s.B * s.T * s.NKV * s.HS;
        return new AttentionInputs(random(rnd, qLength, 1), random(rnd, kvLength, 1), random(rnd, kvLength, 1),
                s.padded ? ints(paddingMask(s.B, s.T)) : null, qLength, kvLength);
    }

    @Test
    public void ropeForward() {
        cases("ropeForward", ROPES, (s, rnd) -> {
            long length = (long) s.N * s.H * s.HS;
            double[] x = gaussian(rnd, length, 1, 0);
            Twin inp = floats(x);
            Twin positions = ints(positions(rnd, s.N));
            Twin invFreq = floats(invFreq(s.HS));
            Twin out = random(rnd, length, 1);
            both(sd -> sd.k().ropeForward(out.at(sd), inp.at(sd), positions.at(sd), invFreq.at(sd), s.N, s.H, s.HS));
            expect(what("ropeForward", s, "out"), out);

            Twin inPlace = floats(x);
            both(sd -> sd.k().ropeForward(inPlace.at(sd), inPlace.at(sd), positions.at(sd), invFreq.at(sd),
                    s.N, s.H, s.HS));
            expect(what("ropeForward", s, "out (in place, out = inp)"), inPlace);
        });
    }

    @Test
    public void ropeBackward() {
        cases("ropeBackward", ROPES, (s, rnd) -> {
            long length = (long) s.N * s.H * s.HS;
            Twin positions = ints(positions(rnd, s.N));
            Twin invFreq = floats(invFreq(s.HS));
            Twin dout = random(rnd, length, 1);
            backward("ropeBackward", s, rnd, List.of("dinp"), List.of(length),
                    (sd, g) -> sd.k().ropeBackward(g[0], dout.at(sd), positions.at(sd), invFreq.at(sd),
                            s.N, s.H, s.HS));
        });
    }

    // --------------------------------------------------------------------------------------------- elementwise

    @Test
    public void geluForward() {
        cases("geluForward", ELEMS, (s, rnd) -> {
            double[] x = gaussian(rnd, s.n, 3, 0);
            Twin inp = floats(x);
            Twin out = random(rnd, s.n, 1);
            both(sd -> sd.k().geluForward(out.at(sd), inp.at(sd), s.n));
            expect(what("geluForward", s, "out"), out);

            Twin inPlace = floats(x);
            both(sd -> sd.k().geluForward(inPlace.at(sd), inPlace.at(sd), s.n));
            expect(what("geluForward", s, "out (in place, out = inp)"), inPlace);
        });
    }

    @Test
    public void geluBackward() {
        cases("geluBackward", ELEMS, (s, rnd) -> {
            Twin inp = random(rnd, s.n, 3);
            Twin dout = random(rnd, s.n, 1);
            backward("geluBackward", s, rnd, List.of("dinp"), List.of(s.n),
                    (sd, g) -> sd.k().geluBackward(g[0], dout.at(sd), inp.at(sd), s.n));
        });
    }

    @Test
    public void swigluForward() {
        cases("swigluForward", ELEMS, (s, rnd) -> {
            double[] gateValues = gaussian(rnd, s.n, 3, 0);
            double[] upValues = gaussian(rnd, s.n, 1, 0);
            Twin gate = floats(gateValues);
            Twin up = floats(upValues);
            Twin out = random(rnd, s.n, 1);
            both(sd -> sd.k().swigluForward(out.at(sd), gate.at(sd), up.at(sd), s.n));
            expect(what("swigluForward", s, "out"), out);

            Twin intoGate = floats(gateValues);
            both(sd -> sd.k().swigluForward(intoGate.at(sd), intoGate.at(sd), up.at(sd), s.n));
            expect(what("swigluForward", s, "out (in place, out = gate)"), intoGate);

            Twin intoUp = floats(upValues);
            both(sd -> sd.k().swigluForward(intoUp.at(sd), gate.at(sd), intoUp.at(sd), s.n));
            expect(what("swigluForward", s, "out (in place, out = up)"), intoUp);
        });
    }

    @Test
    public void swigluBackward() {
        cases("swigluBackward", ELEMS, (s, rnd) -> {
            Twin gate = random(rnd, s.n, 3);
            Twin up = random(rnd, s.n, 1);
            Twin dout = random(rnd, s.n, 1);
            backward("swigluBackward", s, rnd, List.of("dgate", "dup"), List.of(s.n, s.n),
                    (sd, g) -> sd.k().swigluBackward(g[0], g[1], dout.at(sd), gate.at(sd), up.at(sd), s.n));
        });
    }

    @Test
    public void residualForward() {
        cases("residualForward", ELEMS, (s, rnd) -> {
            double[] aValues = gaussian(rnd, s.n, 1, 0);
            double[] bValues = gaussian(rnd, s.n, 1, 0);
            Twin a = floats(aValues);
            Twin b = floats(bValues);
            Twin out = random(rnd, s.n, 1);
            both(sd -> sd.k().residualForward(out.at(sd), a.at(sd), b.at(sd), s.n));
            expect(what("residualForward", s, "out"), out);

            Twin intoA = floats(aValues);
            both(sd -> sd.k().residualForward(intoA.at(sd), intoA.at(sd), b.at(sd), s.n));
            expect(what("residualForward", s, "out (in place, out = a)"), intoA);

            Twin intoB = floats(bValues);
            both(sd -> sd.k().residualForward(intoB.at(sd), a.at(sd), intoB.at(sd), s.n));
            expect(what("residualForward", s, "out (in place, out = b)"), intoB);
        });
    }

    @Test
    public void residualBackward() {
        cases("residualBackward", ELEMS, (s, rnd) -> {
            Twin dout = random(rnd, s.n, 1);
            backward("residualBackward", s, rnd, List.of("da", "db"), List.of(s.n, s.n),
                    (sd, g) -> sd.k().residualBackward(g[0], g[1], dout.at(sd), s.n));
        });
    }

    // ------------------------------------------------------------------------------------------ loss and pooling

    @Test
    public void crossEntropyForward() {
        cases("crossEntropyForward", CES, (s, rnd) -> {
            Twin logits = random(rnd, (long) s.N * s.V, 3);
            Twin targets = ints(targets(rnd, s));
            Twin probs = random(rnd, (long) s.N * s.V, 1);
            double[] loss = values(sd -> sd.k().crossEntropyForward(probs.at(sd), logits.at(sd), targets.at(sd),
                    s.N, s.V, IGNORE));
            Compare.assertClose(what("crossEntropyForward", s, "loss"), loss[1], loss[0], TOLERANCE);
            expect(what("crossEntropyForward", s, "probs"), probs);
        });
    }

    @Test
    public void crossEntropyBackward() {
        cases("crossEntropyBackward", CES, (s, rnd) -> {
            Twin logits = random(rnd, (long) s.N * s.V, 3);
            Twin targets = ints(targets(rnd, s));
            Twin probs = random(rnd, (long) s.N * s.V, 1);
            both(sd -> sd.k().crossEntropyForward(probs.at(sd), logits.at(sd), targets.at(sd), s.N, s.V, IGNORE));
            backward("crossEntropyBackward", s, rnd, List.of("dlogits"), List.of((long) s.N * s.V),
                    (sd, g) -> sd.k().crossEntropyBackward(g[0], probs.at(sd), targets.at(sd), s.N, s.V, IGNORE,
                            0.75f));
        });
    }

    @Test
    public void meanPoolForward() {
        cases("meanPoolForward", POOLS, (s, rnd) -> {
            Twin inp = random(rnd, (long) s.B * s.T * s.C, 1);
            Twin mask = ints(paddingMask(s.B, s.T));
            Twin out = random(rnd, (long) s.B * s.C, 1);
            both(sd -> sd.k().meanPoolForward(out.at(sd), inp.at(sd), mask.at(sd), s.B, s.T, s.C));
            expect(what("meanPoolForward", s, "out"), out);
        });
    }

    @Test
    public void meanPoolBackward() {
        cases("meanPoolBackward", POOLS, (s, rnd) -> {
            Twin mask = ints(paddingMask(s.B, s.T));
            Twin dout = random(rnd, (long) s.B * s.C, 1);
            backward("meanPoolBackward", s, rnd, List.of("dinp"), List.of((long) s.B * s.T * s.C),
                    (sd, g) -> sd.k().meanPoolBackward(g[0], dout.at(sd), mask.at(sd), s.B, s.T, s.C));
        });
    }

    @Test
    public void clsPoolForward() {
        cases("clsPoolForward", POOLS, (s, rnd) -> {
            Twin inp = random(rnd, (long) s.B * s.T * s.C, 1);
            Twin out = random(rnd, (long) s.B * s.C, 1);
            both(sd -> sd.k().clsPoolForward(out.at(sd), inp.at(sd), s.B, s.T, s.C));
            expect(what("clsPoolForward", s, "out"), out);
        });
    }

    @Test
    public void clsPoolBackward() {
        cases("clsPoolBackward", POOLS, (s, rnd) -> {
            Twin dout = random(rnd, (long) s.B * s.C, 1);
            backward("clsPoolBackward", s, rnd, List.of("dinp"), List.of((long) s.B * s.T * s.C),
                    (sd, g) -> sd.k().clsPoolBackward(g[0], dout.at(sd), s.B, s.T, s.C));
        });
    }

    // ------------------------------------------------------------------------------------------------ optimiser

    @Test
    public void adamw() {
        cases("adamw", ADAMS, (s, rnd) -> {
            Twin params = random(rnd, s.n, 1);
            Twin m = floats(new double[(int) s.n]);
            Twin v = floats(new double[(int) s.n]);
            for (int step = 1; step <= 3; step++) {
                Twin grads = random(rnd, s.n, 1);
                int t = step;
                both(sd -> sd.k().adamw(params.at(sd), grads.at(sd), m.at(sd), v.at(sd), s.n, s.lr, 0.9f, 0.999f,
                        1e-8f, s.weightDecay, t));
                expect(what("adamw", s, "params after step " + step), params);
                expect(what("adamw", s, "m after step " + step), m);
                expect(what("adamw", s, "v after step " + step), v);
            }
        });
    }

    @Test
    public void norm() {
        cases("norm", ELEMS, (s, rnd) -> {
            Twin grads = random(rnd, s.n, 1);
            double[] norm = values(sd -> sd.k().norm(grads.at(sd), s.n));
            Compare.assertClose(what("norm", s, "the norm"), norm[1], norm[0], TOLERANCE);
        });
    }

    // ------------------------------------------------------------------------------------------------ bad input

    /** For every kernel: each operand in turn one element short, of the wrong dtype, foreign, closed, null. */
    @TestFactory
    public Stream<DynamicTest> badInput() {
        return KernelCalls.all().stream()
                .map(call -> DynamicTest.dynamicTest("badInput " + call.kernel(), () -> badInputs(call)));
    }

    private void badInputs(KernelCalls.Call call) {
        call.invoker().invoke(backend, validOperands(call)); // the valid call must work, or nothing below means much
        List<Executable> checks = new ArrayList<>();
        for (int j = 0; j < call.operands().size(); j++) {
            int index = j;
            KernelCalls.Operand operand = call.operands().get(j);
            DType dtype = operand.kind() == KernelCalls.Kind.INT ? DType.I32 : backend.floatType();
            DType wrong = dtype == DType.I32 ? backend.floatType() : DType.I32;
            List<String> faults = new ArrayList<>(List.of("short", "foreign", "closed"));
            if (!operand.anyDtype()) faults.add("dtype");
            if (!operand.nullable()) faults.add("null");
            for (String fault : faults) {
                checks.add(() -> {
                    Buffer[] operands = validOperands(call);
                    operands[index] = switch (fault) {
                        case "short" -> keep(backend.allocate(dtype, operand.length() - 1));
                        case "dtype" -> keep(backend.allocate(wrong, operand.length()));
                        case "foreign" -> keep(new ReferenceKernels().allocate(dtype, operand.length()));
                        case "closed" -> {
                            Buffer b = backend.allocate(dtype, operand.length());
                            b.close();
                            yield b;
                        }
                        default -> null;
                    };
                    String description = switch (fault) {
                        case "short" -> "a buffer one element short (" + (operand.length() - 1) + " of "
                                + operand.length() + ")";
                        case "dtype" -> "a " + wrong + " buffer instead of " + dtype;
                        case "foreign" -> "a buffer of another backend";
                        case "closed" -> "a closed buffer";
                        default -> "null";
                    };
                    expectRejected(call.kernel() + " with " + description + " as " + operand.name(), operand.name(),
                            () -> call.invoker().invoke(backend, operands));
                });
            }
        }
        assertAll(call.kernel(), checks);
    }

    private Buffer[] validOperands(KernelCalls.Call call) {
        Buffer[] operands = new Buffer[call.operands().size()];
        for (int i = 0; i < operands.length; i++) {
            KernelCalls.Operand o = call.operands().get(i);
            operands[i] = keep(backend.allocate(o.kind() == KernelCalls.Kind.INT ? DType.I32 : backend.floatType(),
                    o.length()));
        }
        return operands;
    }

    @Test
    public void idsAndTargetsOutOfRangeAreRejected() {
        int N = 3;
        int V = 4;
        int C = 2;
        Twin table = random(new Random(5), (long) V * C, 1);
        Buffer out = keep(backend.allocateFloats((long) N * C));
        for (int[] bad : new int[][] {{0, V, 1}, {-1, 0, 0}}) {
            Buffer ids = keep(backend.allocate(DType.I32, N));
            backend.upload(ids, 0, bad);
            expectRejected("embeddingForward with ids " + Arrays.toString(bad) + " and V=" + V, "ids",
                    () -> backend.embeddingForward(out, ids, table.at(backendSide), N, V, C, false));
            expectRejected("embeddingBackward with ids " + Arrays.toString(bad) + " and V=" + V, "ids",
                    () -> backend.embeddingBackward(table.at(backendSide), out, ids, N, V, C));
        }
        Buffer logits = keep(backend.allocateFloats((long) N * V));
        Buffer probs = keep(backend.allocateFloats((long) N * V));
        for (int[] bad : new int[][] {{0, V, IGNORE}, {-1, 0, 1}}) {
            Buffer targets = keep(backend.allocate(DType.I32, N));
            backend.upload(targets, 0, bad);
            expectRejected("crossEntropyForward with targets " + Arrays.toString(bad) + " and V=" + V, "targets",
                    () -> backend.crossEntropyForward(probs, logits, targets, N, V, IGNORE));
            expectRejected("crossEntropyBackward with targets " + Arrays.toString(bad) + " and V=" + V, "targets",
                    () -> backend.crossEntropyBackward(logits, probs, targets, N, V, IGNORE, 1f));
        }
    }

    /** Expects an {@link IllegalArgumentException} whose message names {@code operand} as a word. */
    private static void expectRejected(String what, String operand, Executable call) {
        expectRejected(what, call, operand);
    }

    /** Expects an {@link IllegalArgumentException} whose message names one of {@code operands} as a word. */
    private static void expectRejected(String what, Executable call, String... operands) {
        String names = String.join("' or '", operands);
        try {
            call.execute();
        } catch (IllegalArgumentException e) {
            String message = String.valueOf(e.getMessage());
            for (String operand : operands) {
                Pattern word = Pattern.compile("(?<![A-Za-z0-9_])" + Pattern.quote(operand) + "(?![A-Za-z0-9_])");
                if (word.matcher(message).find()) return;
            }
            fail(what + ": the IllegalArgumentException does not name '" + names + "': " + message);
        } catch (Throwable t) {
            throw new AssertionFailedError(what + ": threw " + t + " instead of an IllegalArgumentException naming '"
                    + names + "'", t);
        }
        fail(what + ": accepted (expected an IllegalArgumentException naming '" + names + "')");
    }

    // -------------------------------------------------------------------------------------------------- helpers

    /** Runs {@code body} once per shape with its own fixed seed; every failing shape is reported, not just the first. */
    private <S> void cases(String kernel, List<S> shapes, BiConsumer<S, Random> body) {
        List<Executable> runs = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) {
            S shape = shapes.get(i);
            long seed = 7919L * kernel.hashCode() + i;
            runs.add(() -> {
                try {
                    body.accept(shape, new Random(seed));
                } catch (RuntimeException e) {
                    throw new AssertionFailedError(kernel + " " + shape + ": threw " + e, e);
                }
            });
        }
        assertAll(kernel, runs);
    }

    /**
     * A backward pass on both sides, checked once with every gradient output given and pre-filled with the same
     * random values (the backward must add to them), then once per gradient output with that one null.
     */
    private void backward(String kernel, Object shape, Random rnd, List<String> names, List<Long> lengths,
                          BiConsumer<Side, Buffer[]> call) {
        for (int skip = -1; skip < names.size(); skip++) {
            Twin[] grads = new Twin[names.size()];
            for (int i = 0; i < grads.length; i++) grads[i] = i == skip ? null : random(rnd, lengths.get(i), 1);
            both(sd -> {
                Buffer[] g = new Buffer[grads.length];
                for (int i = 0; i < g.length; i++) g[i] = at(grads[i], sd);
                call.accept(sd, g);
            });
            List<Executable> checks = new ArrayList<>();
            for (int i = 0; i < grads.length; i++) {
                if (grads[i] == null) continue;
                String note = skip < 0 ? " (added to non-zero values)" : " (" + names.get(skip) + " null)";
                String what = what(kernel, shape, names.get(i) + note);
                Twin gradient = grads[i];
                checks.add(() -> expect(what, gradient));
            }
            assertAll(what(kernel, shape, "gradients"), checks); // every wrong gradient output, not just the first
        }
    }

    /** The same call on the backend, then on the reference. */
    private void both(Consumer<Side> call) {
        call.accept(backendSide);
        call.accept(referenceSide);
    }

    /** A scalar-returning call on both sides: {backend, reference}. */
    private double[] values(ToDoubleFunction<Side> call) {
        return new double[] {call.applyAsDouble(backendSide), call.applyAsDouble(referenceSide)};
    }

    private static Buffer at(Twin twin, Side side) {
        return twin == null ? null : twin.at(side);
    }

    /** Compares an operand on both sides (norm-wise, {@link #TOLERANCE}) and checks the backend left its slack. */
    private void expect(String what, Twin twin) {
        Compare.assertClose(what, twin.referenceValues(), twin.backendValues(), TOLERANCE);
        double[] slack = twin.backendSlack();
        for (int i = 0; i < slack.length; i++) {
            if (!Double.isNaN(slack[i])) {
                fail(what + ": the backend wrote element " + (twin.length + i) + " = " + slack[i] + ", past the "
                        + twin.length + " elements the shape needs");
            }
        }
    }

    private static String what(String kernel, Object shape, String operand) {
        return kernel + " " + shape + " " + operand;
    }

    /** The same values (already float32-exact) in a new buffer on each side, followed by NaN slack. */
    private Twin floats(double[] values) {
        Buffer b = keep(backend.allocateFloats(values.length + Twin.SLACK));
        Buffer r = keep(reference.allocateFloats(values.length + Twin.SLACK));
        double[] slack = new double[Twin.SLACK];
        Arrays.fill(slack, Double.NaN);
        backend.upload(b, 0, values);
        backend.upload(b, values.length, slack);
        reference.upload(r, 0, values);
        reference.upload(r, values.length, slack);
        return new Twin(backendSide, referenceSide, b, r, values.length);
    }

    private Twin random(Random rnd, long n, double scale) {
        return floats(gaussian(rnd, n, scale, 0));
    }

    private Twin ints(int[] values) {
        Buffer b = keep(backend.allocate(DType.I32, values.length + Twin.SLACK));
        Buffer r = keep(reference.allocate(DType.I32, values.length + Twin.SLACK));
        backend.upload(b, 0, values);
        reference.upload(r, 0, values);
        return new Twin(backendSide, referenceSide, b, r, values.length);
    }

    /** Normal values of standard deviation {@code scale} around {@code offset}, rounded to float32. */
    private static double[] gaussian(Random rnd, long n, double scale, double offset) {
        double[] values = new double[Math.toIntExact(n)];
        for (int i = 0; i < values.length; i++) values[i] = (float) (offset + scale * rnd.nextGaussian());
        return values;
    }

    /** Ids in [0, V) with at least one repeat when N > 1 (so that the scatter-add meets a collision). */
    private static int[] ids(Random rnd, int N, int V) {
        int[] ids = new int[N];
        for (int n = 0; n < N; n++) ids[n] = rnd.nextInt(V);
        if (N > 1) ids[N - 1] = ids[0];
        return ids;
    }

    private static int[] positions(Random rnd, int N) {
        int[] positions = new int[N];
        for (int n = 0; n < N; n++) positions[n] = rnd.nextInt(16);
        return positions;
    }

    /** Llama's inverse frequencies 10000^(-2i/HS), rounded to float32. */
    private static double[] invFreq(int HS) {
        double[] f = new double[HS / 2];
        for (int i = 0; i < f.length; i++) f[i] = (float) Math.pow(10000, -2.0 * i / HS);
        return f;
    }

    /** Sequence b: all T positions real when b % 3 == 0, trailing padding (max(1, T-2) real) when 1, none when 2. */
    private static int[] paddingMask(int B, int T) {
        int[] mask = new int[B * T];
        for (int b = 0; b < B; b++) {
            int real = switch (b % 3) {
                case 0 -> T;
                case 1 -> Math.max(1, T - 2);
                default -> 0;
            };
            for (int t = 0; t < real; t++) mask[b * T + t] = 1;
        }
        return mask;
    }

    private static int[] targets(Random rnd, Ce s) {
        int[] targets = new int[s.N];
        for (int n = 0; n < s.N; n++) {
            boolean ignored = s.ignored.equals("ALL") || (s.ignored.equals("SOME") && n % 3 == 1);
            targets[n] = ignored ? IGNORE : rnd.nextInt(s.V);
        }
        return targets;
    }

    private Buffer keep(Buffer buffer) {
        allocated.add(buffer);
        return buffer;
    }

    private double[] download(Buffer b, long offset, int n) {
        double[] values = new double[n];
        backend.download(b, offset, values);
        return values;
    }

    private static void assertArrayEquals(String what, double[] expected, double[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, what);
    }
}
