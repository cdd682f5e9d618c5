package dev.eva4j.models;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.onnx.OnnxModelLoader;
import dev.eva4j.models.tokenizer.EncodedBatch;
import dev.eva4j.models.tokenizer.HfTokenizer;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a MiniLM forward pass spends its time, op by op: every {@link Kernels} call of {@code runs} passes at batch
 * B x T (after a warm-up) is timed in wall-clock time and in process CPU time (all threads: OpenBLAS's, the host
 * kernels' and any that spin). CPU time is the steadier measure on a shared machine, and CPU time above 2x wall
 * time... cannot happen on 2 cores; CPU time well above the useful work shows threads spinning against each other.
 *
 * <pre>
 * bash ci/bench-forward.sh   # once, builds the class path into models/target/cp.txt
 * cd models && java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
 *   -cp target/test-classes:target/classes:$(cat target/cp.txt) dev.eva4j.models.MiniLmProfile [B=32] [T=128] [runs=5] [threads=2] [warmup=3]
 * </pre>
 */
public final class MiniLmProfile {
    private MiniLmProfile() {}

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    public static void main(String[] args) throws Exception {
        int B = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int T = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        OpenBlasBackend real = new OpenBlasBackend();
        real.setThreads(threads);
        Kernels kernels = real.kernels();
        Map<String, double[]> stats = new TreeMap<>(); // op -> {wall s, cpu s, calls}
        boolean[] on = {false};
        Kernels timed = (Kernels) Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[] {Kernels.class},
                (proxy, m, a) -> {
                    if (!on[0] || m.getReturnType() != void.class) return invoke(m, kernels, a);
                    long w = System.nanoTime(), c = OS.getProcessCpuTime();
                    Object r = invoke(m, kernels, a);
                    double[] s = stats.computeIfAbsent(m.getName(), n -> new double[3]);
                    s[0] += (System.nanoTime() - w) * 1e-9;
                    s[1] += (OS.getProcessCpuTime() - c) * 1e-9;
                    s[2]++;
                    return r;
                });
        ComputeBackend backend = new Delegating(real, timed);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < B; i++) texts.add(Sentences.TWENTY.get(15) + " " + Sentences.TWENTY.get(i % 20));
        try (HfTokenizer tok = HfTokenizer.load(MiniLm.tokenizer(), T);
                BertModel model = new OnnxModelLoader().load(MiniLm.onnx(), backend)) {
            EncodedBatch b = tok.encode(texts, T);
            Batch batch = b.toBatch();
            for (int i = 0; i < warmup; i++) {
                try (Arena a = Arena.ofConfined()) {
                    model.forward(batch, a);
                }
            }
            on[0] = true;
            long w = System.nanoTime(), c = OS.getProcessCpuTime();
            for (int i = 0; i < runs; i++) {
                try (Arena a = Arena.ofConfined()) {
                    model.forward(batch, a);
                }
            }
            double wall = (System.nanoTime() - w) * 1e-9 / runs, cpu = (OS.getProcessCpuTime() - c) * 1e-9 / runs;
            System.out.printf("MiniLM forward %d x %d, %d thread(s): %.1f ms wall, %.1f ms CPU per pass (%.0f tokens/s)%n",
                    B, T, threads, wall * 1e3, cpu * 1e3, B * T / wall);
            System.out.printf("%-28s %9s %9s %7s %6s%n", "op", "wall ms", "CPU ms", "calls", "wall%");
            double sumW = 0;
            for (var e : stats.entrySet()) {
                double[] s = e.getValue();
                sumW += s[0];
                System.out.printf("%-28s %9.2f %9.2f %7.0f %5.1f%%%n", e.getKey(), s[0] * 1e3 / runs, s[1] * 1e3 / runs,
                        s[2] / runs, 100 * s[0] / runs / wall);
            }
            System.out.printf("%-28s %9.2f%n", "outside kernel calls", (wall - sumW / runs) * 1e3);
        }
    }

    private static Object invoke(java.lang.reflect.Method m, Object target, Object[] a) throws Throwable {
        try {
            return m.invoke(target, a);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** The real backend with its kernels replaced by the timed proxy. */
    record Delegating(ComputeBackend real, Kernels kernels) implements ComputeBackend {
        @Override
        public String name() {
            return real.name();
        }

        @Override
        public int priority() {
            return real.priority();
        }

        @Override
        public Availability availability() {
            return real.availability();
        }

        @Override
        public void sgemm(Transpose ta, Transpose tb, int m, int n, int k, float alpha, MemorySegment a, int lda,
                          MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
            real.sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }

        @Override
        public void sgemmStridedBatched(Transpose ta, Transpose tb, int m, int n, int k, float alpha, MemorySegment a,
                                        int lda, long sa, MemorySegment b, int ldb, long sb, float beta,
                                        MemorySegment c, int ldc, long sc, int batch) {
            real.sgemmStridedBatched(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
        }

        @Override
        public void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
            real.sgesdd(m, n, a, s, u, vt);
        }

        @Override
        public void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
            real.dgesdd(m, n, a, s, u, vt);
        }

        @Override
        public void ssyevd(int n, MemorySegment a, MemorySegment w) {
            real.ssyevd(n, a, w);
        }

        @Override
        public void dsyevd(int n, MemorySegment a, MemorySegment w) {
            real.dsyevd(n, a, w);
        }

        @Override
        public int threads() {
            return real.threads();
        }

        @Override
        public void setThreads(int threads) {
            real.setThreads(threads);
        }
    }
}
