package dev.eva4j.cuda.bench;

import dev.eva4j.cuda.Cublas;
import dev.eva4j.cuda.CudaContext;
import dev.eva4j.cuda.CudaEvent;
import dev.eva4j.cuda.CudaRuntime;
import dev.eva4j.cuda.DeviceMemory;
import dev.eva4j.cuda.svd.CudaSvdBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * GPU micro-benchmarks for the same-run comparison with PyTorch (ci/gpu-check.sh, ci/gpu_peers.py). Prints one
 * {@code RESULT <name> <value> <unit>} line per measurement. Times are medians after warm-up; GEMMs are timed with
 * CUDA events on the device, EVA steps with the wall clock around a whole synchronous step (uploads included).
 *
 * <pre>
 *   java -cp ... dev.eva4j.cuda.bench.CudaBench gemm [n=8192] [reps=10]
 *   java -cp ... dev.eva4j.cuda.bench.CudaBench eva minilm|llama1b [rows=2048] [k=32] [steps=5]
 * </pre>
 */
public final class CudaBench {
    private CudaBench() {}

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: CudaBench gemm [n] [reps] | eva minilm|llama1b [rows] [k] [steps]");
            System.exit(2);
        }
        try {
            switch (args[0]) {
                case "gemm" -> gemm(arg(args, 1, 8192), arg(args, 2, 10));
                case "eva" -> eva(args.length > 1 ? args[1] : "minilm", arg(args, 2, 2048), arg(args, 3, 32),
                        arg(args, 4, 5));
                default -> {
                    System.err.println("CudaBench: unknown benchmark '" + args[0] + "' (gemm, eva)");
                    System.exit(2);
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("CudaBench: " + e.getMessage());
            System.exit(2);
        }
    }

    private static int arg(String[] args, int i, int dflt) {
        if (args.length <= i) return dflt;
        try {
            int v = Integer.parseInt(args[i]);
            if (v < 1) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("argument " + i + " must be a positive integer, got '" + args[i] + "'");
        }
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** FP32, TF32 and BF16 (bf16 in and out, fp32 accumulation) n x n x n GEMMs, TFLOP/s from event times. */
    static void gemm(int n, int reps) {
        CudaContext ctx = CudaRuntime.context();
        Cublas blas = ctx.cublas();
        long nn = (long) n * n;
        try (Arena arena = Arena.ofConfined();
             DeviceMemory a = ctx.allocate(4 * nn); DeviceMemory b = ctx.allocate(4 * nn);
             DeviceMemory c = ctx.allocate(4 * nn); DeviceMemory a16 = ctx.allocate(2 * nn);
             DeviceMemory b16 = ctx.allocate(2 * nn); DeviceMemory c16 = ctx.allocate(2 * nn)) {
            SplittableRandom r = new SplittableRandom(1);
            MemorySegment h = arena.allocate(ValueLayout.JAVA_FLOAT, nn);
            MemorySegment h16 = arena.allocate(ValueLayout.JAVA_SHORT, nn);
            for (DeviceMemory[] pair : new DeviceMemory[][] {{a, a16}, {b, b16}}) {
                for (long i = 0; i < nn; i++) {
                    float v = (float) (r.nextDouble() * 2 - 1);
                    h.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                    h16.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                }
                pair[0].copyFrom(h);
                pair[1].copyFrom(h16);
            }
            double flops = 2.0 * n * n * n;
            String[] names = {"fp32", "tf32", "bf16"};
            for (String name : names) {
                Runnable op = switch (name) {
                    case "fp32" -> () -> blas.sgemmRowMajor(false, false, n, n, n, 1f, a.address(), n, b.address(), n,
                            0f, c.address(), n);
                    case "tf32" -> () -> blas.gemmExRowMajor(false, false, n, n, n, 1f, a.address(), Cublas.CUDA_R_32F,
                            n, b.address(), Cublas.CUDA_R_32F, n, 0f, c.address(), Cublas.CUDA_R_32F, n,
                            Cublas.COMPUTE_32F_FAST_TF32);
                    default -> () -> blas.gemmExRowMajor(false, false, n, n, n, 1f, a16.address(), Cublas.CUDA_R_16BF,
                            n, b16.address(), Cublas.CUDA_R_16BF, n, 0f, c16.address(), Cublas.CUDA_R_16BF, n,
                            Cublas.COMPUTE_32F);
                };
                for (int i = 0; i < 3; i++) op.run();
                ctx.synchronize();
                double[] ms = new double[reps];
                try (CudaEvent start = ctx.event(); CudaEvent end = ctx.event()) {
                    for (int i = 0; i < reps; i++) {
                        start.record();
                        op.run();
                        end.record();
                        ms[i] = end.elapsedSince(start);
                    }
                }
                double t = median(ms);
                System.out.printf("RESULT gemm_%s_%d_ms %.4f ms%n", name, n, t);
                System.out.printf("RESULT gemm_%s_%d_tflops %.2f TFLOP/s%n", name, n, flops / (t * 1e-3) / 1e12);
            }
        }
    }

    /** Input features of every target linear layer of a model-sized layer set. */
    static int[] layerDims(String preset) {
        return switch (preset) {
            case "minilm" -> repeat(6, 384, 384, 384, 384, 384, 1536);        // q k v o up | down, 6 layers
            case "llama1b" -> repeat(16, 2048, 2048, 2048, 2048, 2048, 2048, 8192); // q k v o gate up | down
            default -> throw new IllegalArgumentException("preset must be minilm or llama1b, got '" + preset + "'");
        };
    }

    private static int[] repeat(int layers, int... dims) {
        int[] out = new int[layers * dims.length];
        for (int l = 0; l < layers; l++) System.arraycopy(dims, 0, out, l * dims.length, dims.length);
        return out;
    }

    /**
     * One EVA SVD step over a model-sized set of layer groups (random float32 rows, k components each), in the
     * lowrank and warm modes: the median wall time of a whole step (every problem, uploads and downloads included).
     */
    static void eva(String preset, int rows, int k, int steps) {
        int[] dims = layerDims(preset);
        CudaSvdBackend svd = new CudaSvdBackend(CudaRuntime.context());
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom r = new SplittableRandom(7);
            List<TopKProblem> cold = new ArrayList<>(), warm = new ArrayList<>();
            for (int d : dims) {
                MemorySegment m = arena.allocate(ValueLayout.JAVA_FLOAT, (long) rows * d);
                for (long i = 0; i < (long) rows * d; i++) m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
                MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT, k);
                MemorySegment vt = arena.allocate(ValueLayout.JAVA_FLOAT, (long) k * d);
                cold.add(new TopKProblem(rows, d, k, m, s, vt, MemorySegment.NULL, 42));
                MemorySegment prev = arena.allocate(ValueLayout.JAVA_FLOAT, (long) k * d);
                warm.add(new TopKProblem(rows, d, k, m, arena.allocate(ValueLayout.JAVA_FLOAT, k),
                        arena.allocate(ValueLayout.JAVA_FLOAT, (long) k * d), prev, 43));
            }
            svd.topK(cold, SvdBackend.Mode.LOWRANK); // warm-up, and the previous components of the warm mode
            for (int i = 0; i < dims.length; i++) warm.get(i).warmStart().copyFrom(cold.get(i).vt());
            for (SvdBackend.Mode mode : new SvdBackend.Mode[] {SvdBackend.Mode.LOWRANK, SvdBackend.Mode.WARM}) {
                List<TopKProblem> batch = mode == SvdBackend.Mode.WARM ? warm : cold;
                double[] ms = new double[steps];
                for (int i = 0; i < steps; i++) {
                    long t0 = System.nanoTime();
                    svd.topK(batch, mode);
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                System.out.printf("RESULT eva_%s_%s_step_ms %.2f ms (%d layer groups, %d rows, k=%d)%n", preset,
                        mode.name().toLowerCase(), median(ms), dims.length, rows, k);
            }
        }
    }
}
