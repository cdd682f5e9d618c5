package dev.eva4j.api.peft;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.TargetLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftAdapterWriterTest {
    @TempDir
    Path dir;

    private static EvaResult result(float[] a, double alpha, double[] spectrum) {
        TargetLayer layer = new TargetLayer("blocks.0.q", 3, 2);
        LayerResult l = new LayerResult(layer, 2, alpha, a, spectrum, 3, 300, true, "blocks.0.q");
        return new EvaResult(EvaConfig.builder().r(2).build(), List.of(l), 3, true, List.of(), "eva");
    }

    @Test
    void writesAFiniteResult() throws Exception {
        Path out = dir.resolve("ok");
        PeftAdapterWriter.write(out, result(new float[] {1, 0, 0, 0, 1, 0}, 8, new double[] {0.5, 0.3}),
                PeftAdapterWriter.Options.defaults());
        assertTrue(Files.isRegularFile(out.resolve(PeftAdapterWriter.WEIGHTS)));
    }

    /** A NaN or an infinity (e.g. whitening by a zero singular value) is refused, naming layer and position. */
    @Test
    void refusesNonFiniteValuesAndWritesNothing() {
        Path out = dir.resolve("bad");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeftAdapterWriter.write(out,
                result(new float[] {1, 0, 0, 0, Float.POSITIVE_INFINITY, 0}, 8, new double[] {0.5, 0.3}),
                PeftAdapterWriter.Options.defaults()));
        assertTrue(e.getMessage().contains("layer 'blocks.0.q': lora_A holds Infinity at row 1, column 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PeftAdapterWriter.write(out,
                result(new float[] {Float.NaN, 0, 0, 0, 1, 0}, 8, new double[] {0.5, 0.3}), PeftAdapterWriter.Options.defaults()));
        assertTrue(e.getMessage().contains("lora_A holds NaN at row 0, column 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PeftAdapterWriter.write(out,
                result(new float[] {1, 0, 0, 0, 1, 0}, 8, new double[] {Double.NaN, 0.3}), PeftAdapterWriter.Options.defaults()));
        assertTrue(e.getMessage().contains("explained-variance ratio is NaN"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }
}
