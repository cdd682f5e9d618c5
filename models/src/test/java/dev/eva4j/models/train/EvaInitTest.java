package dev.eva4j.models.train;

import static dev.eva4j.models.train.InitFixtures.assertClose;
import static dev.eva4j.models.train.InitFixtures.batch;
import static dev.eva4j.models.train.InitFixtures.hidden;
import static dev.eva4j.models.train.InitFixtures.load;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaRankAllocator;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.ProgressListener;
import dev.eva4j.api.eva.TargetLayer;
import dev.eva4j.api.peft.PeftAdapterWriter;
import dev.eva4j.cpu.svd.CpuSvdBackend;
import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinySpec;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EvaInitTest {
    @TempDir
    static Path tmp;

    static TinySpec spec(String arch) {
        return arch.equals("bert") ? TinySpec.bert() : TinySpec.llama();
    }

    /**
     * An EVA result made by hand over every linear layer: ranks cycling 6, 0, 4, 2 (r = 4, so the budget is kept when
     * the layer count is a multiple of 4), alpha = 8 * rank / 4, random components.
     */
    static EvaResult handMade(TransformerModel model) {
        EvaConfig config = EvaConfig.builder().r(4).alpha(8).build();
        int[] cycle = {6, 0, 4, 2};
        Random rnd = new Random(9);
        List<LayerResult> layers = new ArrayList<>();
        List<LinearModule> linears = model.linears();
        for (int i = 0; i < linears.size(); i++) {
            LinearModule l = linears.get(i);
            int rank = Math.min(cycle[i % 4], Math.min(l.inFeatures(), l.outFeatures()));
            float[] a = new float[rank * l.inFeatures()];
            for (int j = 0; j < a.length; j++) a[j] = (float) rnd.nextGaussian();
            layers.add(new LayerResult(new TargetLayer(l.path(), l.inFeatures(), l.outFeatures()), rank,
                    8.0 * rank / 4, a, new double[] {0.5, 0.3}, 3, 100, true, l.path()));
        }
        return new EvaResult(config, layers, 3, true, List.of(), "eva");
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert", "llama"})
    void anEvaResultOrItsAdapterFolderGivesItsRanksAndComponents(String arch) throws Exception {
        try (TransformerModel model = load(tmp, arch, spec(arch))) {
            EvaResult result = handMade(model);
            Path dir = tmp.resolve("adapter-" + arch);
            PeftAdapterWriter.write(dir, result, PeftAdapterWriter.Options.defaults());
            LoraSettings user = LoraSettings.of(4, 8).withDropout(0.1);
            InitPlan fromResult = EvaInit.plan(model, user, result);
            InitPlan fromFolder = EvaInit.plan(model, user, dir);
            assertEquals(LoraInit.EVA, fromFolder.kind());
            assertEquals(fromResult.modules(), fromFolder.modules());
            assertEquals(fromResult.settings().rankPattern(), fromFolder.settings().rankPattern());
            assertEquals(fromResult.settings().alphaPattern(), fromFolder.settings().alphaPattern());
            assertEquals(0.1, fromFolder.settings().dropout(), "dropout from the user's settings");

            Map<String, LayerResult> byPath = new HashMap<>();
            for (LayerResult l : result.layers()) byPath.put(l.layer().module(), l);
            int adapted = 0;
            for (LayerResult l : result.layers()) {
                String path = l.layer().module();
                Lora.Module m = fromFolder.modules().stream().filter(x -> x.path().equals(path)).findFirst().orElse(null);
                if (l.rank() == 0) {
                    assertNull(m, path + ": rank 0, no adapter");
                    continue;
                }
                adapted++;
                assertEquals(l.rank(), m.rank(), path);
                assertEquals(l.alpha() / l.rank(), m.scale(), 1e-6, path + ": scaling alpha_l / rank_l");
                assertEquals(l.rank() == 4 ? null : l.rank(), fromFolder.settings().rankPattern().get(path), path);
            }
            assertEquals(fromFolder.modules().size(), adapted);
            assertTrue(adapted < model.linears().size(), "some layers were dropped");

            Batch batch = batch(96);
            float[] before = hidden(model, batch, null);
            for (InitPlan plan : List.of(fromResult, fromFolder)) {
                try (Lora lora = new Lora(model.kernels(), plan.modules(), (float) plan.settings().dropout(), 1)) {
                    InitialAdapter initial = plan.apply(lora);
                    assertTrue(initial.initial().isEmpty(), "nothing to convert for EVA");
                    for (Lora.Module m : lora.modules()) {
                        assertArrayEquals(byPath.get(m.path()).a(), lora.params().read(m.aName()), m.path() + ": A = EVA's rows");
                        assertArrayEquals(new float[m.out() * m.rank()], lora.params().read(m.bName()), m.path() + ": B = 0");
                    }
                    assertClose(arch + " EVA at step 0", before, hidden(model, batch, lora), 1e-6);
                }
            }
        }
    }

    @Test
    void evaInLineOnTheTrainingData() throws Exception {
        StringBuilder sb = new StringBuilder();
        Random rnd = new Random(3);
        for (int i = 0; i < 48; i++) {
            sb.append("{\"input_ids\": [");
            int n = 6 + rnd.nextInt(7);
            for (int t = 0; t < n; t++) sb.append(t == 0 ? "" : ", ").append(4 + rnd.nextInt(92));
            sb.append("]}\n");
        }
        Path data = Files.writeString(tmp.resolve("train.jsonl"), sb.toString());
        try (TransformerModel model = load(tmp, "llama", spec("llama"))) {
            LoraSettings settings = LoraSettings.of(4, 8).withTargets("q_proj,v_proj,down_proj");
            EvaConfig options = EvaConfig.builder().r(99).alpha(1).rho(2).tau(0.9).maxSteps(40).acceptUnconverged(true)
                    .seed(5).build();
            BatchReader reader = new BatchReader(data, null, 8, 16, true, -100);
            EvaResult result = EvaInit.compute(model, settings, options, reader, new CpuSvdBackend(InitFixtures.BACKEND),
                    new EvaRankAllocator(), ProgressListener.NONE);
            assertEquals(4, result.config().r(), "r and alpha from the settings");
            assertEquals(8, result.config().alpha());
            assertEquals(0.9, result.config().tau(), "the rest from the options");
            assertEquals(6, result.layers().size(), "2 blocks x 3 targets");
            assertEquals(4 * 6, result.totalRank(), "EVA redistributes the budget r * layers");

            InitPlan plan = EvaInit.plan(model, settings, result);
            int total = plan.modules().stream().mapToInt(Lora.Module::rank).sum();
            assertEquals(result.totalRank(), total);
            Batch batch = batch(96);
            float[] before = hidden(model, batch, null);
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
                plan.apply(lora);
                for (LayerResult l : result.layers()) {
                    if (l.rank() > 0) assertArrayEquals(l.a(), lora.params().read(l.layer().module() + ".lora_A.weight"));
                    else assertFalse(lora.adapts(l.layer().module()));
                }
                assertClose("EVA in-line at step 0", before, hidden(model, batch, lora), 1e-6);
            }

            var e = assertThrows(IllegalArgumentException.class, () -> EvaInit.compute(model,
                    settings.withPatterns(Map.of("q_proj", 2), Map.of()), options,
                    new BatchReader(data, null, 8, 16, true, -100), new CpuSvdBackend(InitFixtures.BACKEND),
                    new EvaRankAllocator(), ProgressListener.NONE));
            assertTrue(e.getMessage().contains("rank_pattern"), e.getMessage());
        }
    }

    @Test
    void anAdapterThatDoesNotFitIsOneLine() throws Exception {
        Path dir = tmp.resolve("bert-adapter");
        try (TransformerModel bert = load(tmp, "bert", spec("bert"))) {
            PeftAdapterWriter.write(dir, handMade(bert), PeftAdapterWriter.Options.defaults());
        }
        LoraSettings user = LoraSettings.of(4, 8);
        try (TransformerModel llama = load(tmp, "llama", spec("llama"))) {
            var e = assertThrows(IllegalArgumentException.class, () -> EvaInit.plan(llama, user, dir));
            assertTrue(e.getMessage().contains("encoder.layer.0.attention.self.query") && e.getMessage().contains(
                    "not a linear layer of this model"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            assertThrows(NoSuchFileException.class, () -> EvaInit.plan(llama, user, tmp.resolve("nowhere")));
        }
        try (TransformerModel bert = load(tmp, "bert", spec("bert"))) {
            Path config = dir.resolve(PeftAdapterWriter.CONFIG);
            Files.writeString(config, Files.readString(config).replaceFirst("\"r\" : 4", "\"r\" : 3"));
            var e = assertThrows(IllegalArgumentException.class, () -> EvaInit.plan(bert, user, dir));
            assertTrue(e.getMessage().contains("lora_A is [4, 32], expected [3, 32]"), e.getMessage());
            Files.writeString(config, "{\"r\": ");
            e = assertThrows(IllegalArgumentException.class, () -> EvaInit.plan(bert, user, dir));
            assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
            Files.delete(dir.resolve(PeftAdapterWriter.WEIGHTS));
            assertThrows(NoSuchFileException.class, () -> EvaInit.plan(bert, user, dir));
        }
    }
}
