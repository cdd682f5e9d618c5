package dev.eva4j.models;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.onnx.OnnxModelLoader;
import dev.eva4j.models.train.AdamW;
import dev.eva4j.models.train.ClassifyTask;
import dev.eva4j.models.train.LoraSettings;
import dev.eva4j.models.train.TrainConfig;
import dev.eva4j.spi.Kernels;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Where whole LoRA training steps of MiniLM spend their time, kernel by kernel (wall time), for the first (cold)
 * step and for later ones: the demo's fine-tune shape by default (batch 8 x 64, LoRA r 8 on every linear layer,
 * classification head, AdamW).
 *
 * <pre>
 * bash ci/bench-forward.sh   # once, builds the class path into models/target/cp.txt
 * cd models && java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
 *   -cp target/test-classes:target/classes:$(cat target/cp.txt) dev.eva4j.models.TrainProfile [B=8] [T=64] [steps=6]
 * </pre>
 */
public final class TrainProfile {
    private TrainProfile() {}

    public static void main(String[] args) throws Exception {
        int B = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int T = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        OpenBlasBackend real = new OpenBlasBackend();
        Kernels kernels = real.kernels();
        Map<String, double[]> stats = new TreeMap<>(); // op -> {wall s, calls}
        Kernels timed = (Kernels) Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[] {Kernels.class},
                (proxy, m, a) -> {
                    long w = System.nanoTime();
                    Object r = invoke(m, kernels, a);
                    double[] s = stats.computeIfAbsent(m.getName(), n -> new double[2]);
                    s[0] += (System.nanoTime() - w) * 1e-9;
                    s[1]++;
                    return r;
                });
        var backend = new MiniLmProfile.Delegating(real, timed);
        Random rnd = new Random(1);
        int N = B * T;
        int[] ids = new int[N], mask = new int[N], labels = new int[B];
        for (int i = 0; i < N; i++) {
            ids[i] = 1000 + rnd.nextInt(20000);
            mask[i] = 1;
        }
        for (int b = 0; b < B; b++) labels[b] = b % 2;
        Batch batch = new Batch(B, T, ids, mask, null, new byte[N], labels);
        TrainConfig config = TrainConfig.defaults();
        try (BertModel model = new OnnxModelLoader().load(MiniLm.onnx(), backend);
             Lora lora = new Lora(timed, LoraSettings.of(8, 16).withDropout(0.05).modules(model.linears()), 0.05f, 1);
             ClassifyTask task = new ClassifyTask(model, new ClassificationHead(timed, model.hiddenSize(), 2,
                     ClassificationHead.Pooling.MEAN, 1));
             AdamW opt = new AdamW(timed, config)) {
            opt.add("lora", lora.params(), lora.grads());
            opt.add("head", task.head().params(), task.head().grads());
            for (int s = 0; s < steps; s++) {
                stats.clear();
                long t0 = System.nanoTime();
                opt.zeroGrads();
                lora.step(s);
                task.loss(batch, lora, true, 1f);
                double norm = opt.gradNorm();
                opt.clip(norm, config.clip());
                opt.step(config.lr());
                double wall = (System.nanoTime() - t0) * 1e-9;
                System.out.printf("step %d: %.3f s%n", s + 1, wall);
                if (s == 0 || s == steps - 1) {
                    double sum = 0;
                    for (var e : stats.entrySet()) {
                        sum += e.getValue()[0];
                        if (e.getValue()[0] > 0.002) {
                            System.out.printf("  %-32s %8.1f ms %5.0f calls%n", e.getKey(), e.getValue()[0] * 1e3, e.getValue()[1]);
                        }
                    }
                    System.out.printf("  %-32s %8.1f ms%n", "outside kernel calls", (wall - sum) * 1e3);
                }
            }
        }
    }

    private static Object invoke(java.lang.reflect.Method m, Object target, Object[] a) throws Throwable {
        try {
            return m.invoke(target, a);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
