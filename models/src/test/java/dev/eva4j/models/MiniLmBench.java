package dev.eva4j.models;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.onnx.OnnxModelLoader;
import dev.eva4j.models.tokenizer.EncodedBatch;
import dev.eva4j.models.tokenizer.HfTokenizer;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MiniLM forward throughput, tokens/s at batch 32 x 128 (every position a real token), eva4j's BertModel on OpenBLAS
 * versus ONNX Runtime on the same file, in one JVM: {@code runs} interleaved timed passes of each after {@code warmup};
 * reports median and min (the least disturbed pass on a shared machine).
 *
 * <pre>
 * mvn -q -pl models -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * cd models && java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
 *   -cp target/test-classes:target/classes:$(cat target/cp.txt) dev.eva4j.models.MiniLmBench [ortThreads=2] [blasThreads=ortThreads] [warmup=3] [runs=7]
 * </pre>
 */
public final class MiniLmBench {
    private MiniLmBench() {}

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;        // ONNX Runtime intra-op threads
        int blasThreads = args.length > 1 ? Integer.parseInt(args[1]) : threads; // OpenBLAS threads
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 7;
        int B = 32, T = 128;
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < B; i++) texts.add(Sentences.TWENTY.get(15) + " " + Sentences.TWENTY.get(i % 20)); // > 128 tokens
        OpenBlasBackend backend = new OpenBlasBackend();
        backend.setThreads(blasThreads);
        long t0 = System.nanoTime();
        try (HfTokenizer tok = HfTokenizer.load(MiniLm.tokenizer(), T);
                OrtReference ort = new OrtReference(MiniLm.onnx(), threads);
                BertModel model = new OnnxModelLoader().load(MiniLm.onnx(), backend)) {
            System.out.printf("setup (tokenizer, ORT session, eva4j import + load) %.1f s%n", (System.nanoTime() - t0) / 1e9);
            EncodedBatch b = tok.encode(texts, T);
            if (Arrays.stream(b.attentionMask()).sum() != B * T) throw new IllegalStateException("batch is not all real tokens");
            Batch batch = b.toBatch();
            Body evaPass = () -> {
                try (Arena a = Arena.ofConfined()) {
                    model.forward(batch, a);
                }
            };
            Body ortPass = () -> ort.lastHiddenState(b);
            for (int i = 0; i < warmup; i++) {
                evaPass.run();
                ortPass.run();
            }
            // interleaved, so that load from other processes falls on both alike
            double[] eva = new double[runs], onnx = new double[runs], ratio = new double[runs];
            for (int i = 0; i < runs; i++) {
                eva[i] = seconds(evaPass);
                onnx[i] = seconds(ortPass);
                ratio[i] = onnx[i] / eva[i];
            }
            System.out.printf("MiniLM-L6 forward, batch %d x %d, ORT intra-op threads %d, OpenBLAS threads %d, %d cores visible, "
                    + "%d interleaved runs after %d warm-up%n", B, T, threads, blasThreads,
                    Runtime.getRuntime().availableProcessors(), runs, warmup);
            report("eva4j BertModel (OpenBLAS)", eva, B * T);
            report("ONNX Runtime 1.22 (CPU)", onnx, B * T);
            Arrays.sort(ratio);
            System.out.printf("  eva4j speed / ONNX Runtime speed, median of per-pair ratios: %.2f%n", ratio[runs / 2]);
        }
    }

    interface Body {
        void run() throws Exception;
    }

    private static double seconds(Body body) throws Exception {
        long t0 = System.nanoTime();
        body.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void report(String name, double[] times, int tokens) {
        double[] sorted = times.clone();
        Arrays.sort(sorted);
        double median = sorted[sorted.length / 2];
        System.out.printf("  %-28s median %7.1f ms  (min %7.1f, max %7.1f)  %8.0f tokens/s%n", name, median * 1e3,
                sorted[0] * 1e3, sorted[sorted.length - 1] * 1e3, tokens / median);
    }
}
