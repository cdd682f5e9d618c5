package dev.eva4j.models.train;

import static dev.eva4j.models.train.InitFixtures.assertClose;
import static dev.eva4j.models.train.InitFixtures.batch;
import static dev.eva4j.models.train.InitFixtures.hidden;
import static dev.eva4j.models.train.InitFixtures.load;
import static dev.eva4j.models.train.InitFixtures.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinySpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class LoraInitTest {
    @TempDir
    static Path tmp;

    static TinySpec spec(String arch) {
        return arch.equals("bert") ? TinySpec.bert() : TinySpec.llama().withKvHeads(2);
    }

    /** rank 4, alpha 8 (scaling 2), rank 2 on the first attention projection of every block. */
    static LoraSettings settings(String arch) {
        String first = arch.equals("bert") ? "query" : "q_proj";
        return LoraSettings.of(4, 8).withPatterns(Map.of(first, 2), Map.of(first, 3.0));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String arch : List.of("bert", "llama")) {
            for (LoraInit kind : List.of(LoraInit.LORA, LoraInit.GAUSSIAN, LoraInit.PISSA, LoraInit.OLORA)) {
                out.add(Arguments.of(arch, kind));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void stepZeroGivesTheBaseModelsOutputs(String arch, LoraInit kind) throws Exception {
        try (TransformerModel model = load(tmp, arch, spec(arch))) {
            Batch batch = batch(96);
            float[] before = hidden(model, batch, null);
            Map<String, float[]> weightsBefore = new java.util.HashMap<>();
            for (var l : model.linears()) weightsBefore.put(l.path(), model.parameters().read(l.path() + ".weight"));

            InitPlan plan = LoraInit.plan(kind, model, settings(arch), 7, InitFixtures.BACKEND);
            assertEquals(model.linears().size(), plan.modules().size(), "all-linear");
            assertEquals(settings(arch), plan.settings(), "non-EVA inits keep the settings");
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
                InitialAdapter initial = plan.apply(lora);
                for (Lora.Module m : plan.modules()) {
                    float[] a = lora.params().read(m.aName()), b = lora.params().read(m.bName());
                    assertTrue(maxAbsDiff(a, new float[a.length]) > 0, m.path() + ": A is set");
                    boolean zeroB = maxAbsDiff(b, new float[b.length]) == 0;
                    assertEquals(!kind.changesBaseWeights(), zeroB, m.path() + ": B = 0 exactly when the base is kept");
                    float[] w = model.parameters().read(m.path() + ".weight");
                    double changed = maxAbsDiff(w, weightsBefore.get(m.path()));
                    if (kind.changesBaseWeights()) {
                        assertTrue(changed > 1e-3, m.path() + ": residual base weight, changed by " + changed);
                        assertArrayEquals(a, initial.initial().get(m.path()).a(), "A0 kept for the export");
                        assertArrayEquals(b, initial.initial().get(m.path()).b(), "B0 kept for the export");
                    } else {
                        assertEquals(0, changed, m.path() + ": base weight untouched");
                    }
                }
                assertEquals(kind.changesBaseWeights() ? plan.modules().size() : 0, initial.initial().size());
                float[] after = hidden(model, batch, lora);
                double rel = assertClose(arch + " " + kind + ": base + adapter at step 0", before, after,
                        kind.changesBaseWeights() ? 1e-5 : 1e-6);
                if (kind.changesBaseWeights()) {
                    float[] baseOnly = hidden(model, batch, null);
                    assertTrue(maxAbsDiff(before, baseOnly) > 1e-2, "the residual model alone differs (rel " + rel + ")");
                }
            }
        }
    }

    @Test
    void parseNamesEveryChoice() {
        for (LoraInit i : LoraInit.values()) {
            assertEquals(i, LoraInit.parse(i.cliName()));
            assertEquals(i, LoraInit.parse(" " + i.name() + " "));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> LoraInit.parse("loftq"));
        assertEquals("--init must be one of eva, lora, gaussian, pissa, olora, got 'loftq'", e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertThrows(IllegalArgumentException.class, () -> LoraInit.parse(null));
    }

    /** A larger BERT: output.dense reads 512 features; rank 64 gives 32,768 values per A. */
    static TinySpec wide() {
        return TinySpec.bert().withSize(96, 64, 512, 1, 4);
    }

    @Test
    void loraIsKaimingUniformWithinOneOverSqrtFanIn() throws Exception {
        try (TransformerModel model = load(tmp, "wide", wide())) {
            LoraSettings s = LoraSettings.of(64, 16).withTargets("output.dense");
            InitPlan plan = LoraInit.plan(LoraInit.LORA, model, s, 3, null);
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
                plan.apply(lora);
                Lora.Module m = lora.module("encoder.layer.0.output.dense");
                assertEquals(512, m.in());
                float[] a = lora.params().read(m.aName());
                double bound = 1 / Math.sqrt(512), sum = 0, sq = 0, max = 0;
                for (float v : a) {
                    sum += v;
                    sq += (double) v * v;
                    max = Math.max(max, Math.abs(v));
                }
                double mean = sum / a.length, var = sq / a.length - mean * mean;
                assertTrue(max <= bound, "|A| <= 1/sqrt(in): " + max + " vs " + bound);
                assertTrue(max > 0.99 * bound, "fills the interval: " + max);
                assertEquals(0, mean, 0.02 * bound, "mean");
                assertEquals(bound * bound / 3, var, 0.03 * bound * bound / 3, "variance bound^2 / 3");
            }
        }
    }

    @Test
    void gaussianHasStdOneOverTheLayersRank() throws Exception {
        try (TransformerModel model = load(tmp, "wide", wide())) {
            LoraSettings s = LoraSettings.of(64, 16).withTargets("output.dense,intermediate.dense")
                    .withPatterns(Map.of("output.dense", 4), Map.of());
            InitPlan plan = LoraInit.plan(LoraInit.GAUSSIAN, model, s, 3, null);
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
                plan.apply(lora);
                for (Lora.Module m : lora.modules()) {
                    float[] a = lora.params().read(m.aName());
                    double sum = 0, sq = 0;
                    for (float v : a) {
                        sum += v;
                        sq += (double) v * v;
                    }
                    double mean = sum / a.length, std = Math.sqrt(sq / a.length - mean * mean);
                    double expected = 1.0 / m.rank(), n = a.length; // four standard errors of each estimate
                    assertEquals(expected, std, 4 * expected / Math.sqrt(2 * n), m.path() + " (rank " + m.rank() + ", "
                            + a.length + " values)");
                    assertEquals(0, mean, 4 * expected / Math.sqrt(n), m.path() + " mean");
                }
            }
        }
    }

    @Test
    void theSeedDecidesAAndEachModuleHasItsOwnStream() throws Exception {
        try (TransformerModel model = load(tmp, "bert", spec("bert"))) {
            for (LoraInit kind : List.of(LoraInit.LORA, LoraInit.GAUSSIAN)) {
                Map<String, float[]> a1 = initA(model, kind, LoraSettings.of(4, 8), 5);
                Map<String, float[]> a2 = initA(model, kind, LoraSettings.of(4, 8), 5);
                Map<String, float[]> a3 = initA(model, kind, LoraSettings.of(4, 8), 6);
                Map<String, float[]> some = initA(model, kind, LoraSettings.of(4, 8).withTargets("value"), 5);
                for (String path : a1.keySet()) {
                    assertArrayEquals(a1.get(path), a2.get(path), kind + " " + path + ": same seed, same A");
                    assertFalse(java.util.Arrays.equals(a1.get(path), a3.get(path)), kind + " " + path + ": another seed");
                }
                String q = "encoder.layer.0.attention.self.query", k = "encoder.layer.0.attention.self.key";
                assertFalse(java.util.Arrays.equals(a1.get(q), a1.get(k)), "modules draw different values");
                String v = "encoder.layer.1.attention.self.value";
                assertArrayEquals(a1.get(v), some.get(v), "a module's A does not depend on the other targets");
            }
        }
    }

    private static Map<String, float[]> initA(TransformerModel model, LoraInit kind, LoraSettings s, long seed) {
        InitPlan plan = LoraInit.plan(kind, model, s, seed, null);
        try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
            plan.apply(lora);
            Map<String, float[]> out = new java.util.LinkedHashMap<>();
            for (Lora.Module m : lora.modules()) out.put(m.path(), lora.params().read(m.aName()));
            return out;
        }
    }

    @Test
    void aPlanIsAppliedOnceToTheAdapterBuiltFromIt() throws Exception {
        try (TransformerModel model = load(tmp, "llama", spec("llama"))) {
            InitPlan plan = LoraInit.plan(LoraInit.OLORA, model, LoraSettings.of(2, 2).withTargets("q_proj"), 1, null);
            InitPlan other = LoraInit.plan(LoraInit.LORA, model, LoraSettings.of(2, 2).withTargets("v_proj"), 1, null);
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1);
                 Lora wrong = new Lora(model.kernels(), other.modules(), 0f, 1)) {
                assertThrows(IllegalArgumentException.class, () -> plan.apply(wrong));
                plan.apply(lora);
                var e = assertThrows(IllegalStateException.class, () -> plan.apply(lora));
                assertTrue(e.getMessage().contains("applied already"), e.getMessage());
            }
            var e = assertThrows(IllegalArgumentException.class,
                    () -> LoraInit.plan(LoraInit.EVA, model, LoraSettings.of(2, 2), 1, null));
            assertTrue(e.getMessage().contains("EvaInit"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> LoraInit.plan(LoraInit.PISSA, model, LoraSettings.of(2, 2), 1, null));
            assertThrows(IllegalArgumentException.class,
                    () -> LoraInit.plan(LoraInit.LORA, model, LoraSettings.of(64, 2), 1, null), "rank > layer");
        }
    }
}
