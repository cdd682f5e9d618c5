package dev.eva4j.models.train;

import static org.junit.jupiter.api.Assertions.fail;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.ComputeBackend;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/** Tiny models on OpenBLAS, a fixed batch, and comparisons for the initialisation tests. */
final class InitFixtures {
    static final ComputeBackend BACKEND = new OpenBlasBackend();

    private InitFixtures() {}

    /** Writes {@code spec} under {@code dir/name-<hash of spec>} (once) and loads it on OpenBLAS. */
    static TransformerModel load(Path dir, String name, TinySpec spec) throws IOException {
        Path folder = dir.resolve(name + "-" + Integer.toHexString(spec.hashCode()));
        if (!Files.isDirectory(folder)) TinyModels.write(folder, spec);
        return new HfModelLoader().load(folder, BACKEND);
    }

    /** Two sequences of 7 tokens, the second with 2 padding positions; ids from a fixed seed. */
    static Batch batch(int vocab) {
        int B = 2, T = 7;
        Random rnd = new Random(11);
        int[] ids = new int[B * T], mask = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            boolean pad = i >= T && i % T >= 5;
            ids[i] = pad ? 0 : 4 + rnd.nextInt(vocab - 4);
            mask[i] = pad ? 0 : 1;
        }
        return Batch.of(B, T, ids, mask);
    }

    /** The last hidden state [B*T*C] with {@code lora} (null: none). */
    static float[] hidden(TransformerModel model, Batch batch, Lora lora) {
        try (Arena arena = Arena.ofConfined()) {
            return model.forward(batch, lora, arena).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** max |a - b| / max |expected| must be <= tol; explains itself otherwise. */
    static double assertClose(String what, float[] expected, float[] actual, double tol) {
        if (expected.length != actual.length) fail(what + ": length " + actual.length + " vs " + expected.length);
        double maxDiff = 0, maxRef = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (!(d <= maxDiff)) {
                maxDiff = d;
                worst = i;
            }
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        double rel = maxDiff / Math.max(maxRef, 1e-30);
        if (!(rel <= tol)) {
            fail(what + ": max relative difference " + rel + " > " + tol + " (at " + worst + ": " + actual[worst] + " vs "
                    + expected[worst] + ")\n  expected " + head(expected) + "\n  actual   " + head(actual));
        }
        return rel;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    private static String head(float[] x) {
        return Arrays.toString(Arrays.copyOf(x, Math.min(6, x.length)));
    }
}
