package dev.eva4j.models.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.Batch;
import dev.eva4j.models.hf.TensorSource;
import dev.eva4j.models.ops.Floats;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A MiniLM-sized random BERT (6 layers, C=384, 12 heads, I=1536) over 32 x 128 tokens with OpenBLAS: about 90
 * GFLOP. Opt-in ({@code -Deva4j.speed=true}, threads by {@code -Dthreads=N}): on a loaded 2-core machine the same
 * forward took from 1.8 s to 28 s depending on what else ran, so a default bound would be flaky. Fails above 5 s.
 */
class BertSpeedTest {
    private static final Logger LOG = LoggerFactory.getLogger(BertSpeedTest.class);

    @Test
    void miniLmSizedBatchIsFast() {
        Assumptions.assumeTrue(Boolean.getBoolean("eva4j.speed"), "speed check is opt-in: -Deva4j.speed=true");
        BertConfig cfg = new BertConfig(1000, 384, 6, 12, 1536, 512, 2, 1e-12, "gelu");
        int B = 32, T = 128;
        Random rnd = new Random(11);
        int[] ids = rnd.ints(B * T, 1, 1000).toArray(), mask = new int[B * T];
        for (int b = 0; b < B; b++) Arrays.fill(mask, b * T, b * T + 16 + rnd.nextInt(T - 15), 1);
        Batch batch = Batch.of(B, T, ids, mask);
        OpenBlasBackend backend = new OpenBlasBackend();
        backend.setThreads(Integer.getInteger("threads", backend.threads()));
        try (BertModel model = BertModel.create(cfg, TensorSource.of(TinyBert.weights(cfg, 5)), backend)) {
            long best = Long.MAX_VALUE;
            for (int run = 0; run < 3; run++) {
                try (Arena arena = Arena.ofConfined()) {
                    long t0 = System.nanoTime();
                    var out = model.forward(batch, arena);
                    long millis = (System.nanoTime() - t0) / 1_000_000;
                    best = Math.min(best, millis);
                    float[] f = Floats.toArray(out);
                    for (float v : f) assertTrue(Float.isFinite(v));
                }
            }
            LOG.info("MiniLM-sized forward, B={} T={}: best of 3 {} ms on {} cores", B, T, best,
                    Runtime.getRuntime().availableProcessors());
            assertTrue(best < 5_000, "forward took " + best + " ms");
        }
    }
}
