package dev.eva4j.models.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.bert.BertConfig;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.hf.HfFolder;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TrainerTest {
    @TempDir
    Path dir;

    static Stream<ComputeBackend> backends() {
        return Stream.of(new OpenBlasBackend(), new JavaBackend());
    }

    /** 8 sequences of random token ids (lengths 6..12), each with a class label, pre-tokenised. */
    private Path data(int vocab, long seed, int records) throws IOException {
        Random rnd = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < records; i++) {
            int len = 6 + rnd.nextInt(7);
            StringBuilder ids = new StringBuilder();
            for (int t = 0; t < len; t++) ids.append(t == 0 ? "" : ",").append(5 + rnd.nextInt(vocab - 5));
            lines.add("{\"input_ids\":[" + ids + "],\"label\":" + (i % 2) + "}");
        }
        Path f = dir.resolve("data-" + seed + ".jsonl");
        Files.write(f, lines);
        return f;
    }

    private static Trainer.Data reader(Path file, int batch, boolean shuffle, long seed) throws IOException {
        long records = Files.readAllLines(file).stream().filter(l -> !l.isBlank()).count();
        return new Trainer.Data() {
            public BatchReader open(int epoch) throws IOException {
                return new BatchReader(file, null, batch, 64, false, -100, shuffle ? seed + epoch : null);
            }

            public long batchesPerEpoch() {
                return (records + batch - 1) / batch;
            }
        };
    }

    /** A, B ~ small random values (B non-zero, so every gradient path is live), seeded. */
    private static Lora lora(Kernels k, TransformerModel model, int r, float dropout) {
        Lora lora = new Lora(k, LoraSettings.of(r, 2.0 * r).withDropout(dropout).modules(model.linears()), dropout, 5);
        Random rnd = new Random(3);
        for (var s : lora.params().specs()) {
            float[] v = new float[(int) s.length()];
            boolean isA = s.name().endsWith("lora_A.weight");
            for (int i = 0; i < v.length; i++) v[i] = isA ? (float) (rnd.nextGaussian() / Math.sqrt(s.shape()[1])) : 0f;
            lora.params().write(s.name(), v);
        }
        return lora;
    }

    private Path tiny(TinySpec spec) throws IOException {
        Path m = dir.resolve("model-" + spec.arch());
        TinyModels.write(m, spec);
        return m;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void tinyLlamaMemorisesEightSequences(ComputeBackend backend) throws IOException {
        Path data = data(96, 1, 8);
        // C = 128: the frozen, tied output projection of a random model with N(0, 1/C) embeddings bounds the logits by
        // about sqrt(C) after the final RMSNorm, which at C = 32 caps the loss near 0.5 however well LoRA fits
        try (HfFolder f = HfFolder.open(tiny(TinySpec.llama().withSize(96, 128, 256, 2, 4).withKvHeads(2)));
             LlamaModel model = LlamaModel.load(f, backend);
             Lora lora = lora(backend.kernels(), model, 8, 0f);
             Task task = new LmTask(model)) {
            TrainConfig cfg = TrainConfig.defaults().withLr(2e-2).withSteps(1, 300).withBatch(8, 64, 1)
                    .withSchedule(LrSchedule.COSINE, 0.05).withShuffle(false, 0);
            Trainer t = new Trainer(cfg, task, lora, reader(data, 8, false, 0), reader(data, 8, false, 0),
                    dir.resolve("out-llama"), d -> Files.createDirectories(d));
            Trainer.Result r = t.run(null, new Trainer.Listener() {});
            double first = r.steps().getFirst().loss(), last = r.steps().getLast().loss();
            assertTrue(last < 0.05, "final loss " + last + " (first " + first + ")");
            assertTrue(r.evals().getLast().accuracy() > 0.99, "eval accuracy " + r.evals().getLast());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void tinyBertClassifierMemorisesEightSequences(ComputeBackend backend) throws IOException {
        Path data = data(96, 2, 8);
        try (HfFolder f = HfFolder.open(tiny(TinySpec.bert()));
             BertModel model = BertModel.create(BertConfig.fromJson(f.config(), "tiny"), f.tensors(), backend);
             Lora lora = lora(backend.kernels(), model, 8, 0f);
             Task task = new ClassifyTask(model, new ClassificationHead(backend.kernels(), model.hiddenSize(), 2,
                     ClassificationHead.Pooling.MEAN, 9))) {
            TrainConfig cfg = TrainConfig.defaults().withLr(1e-2).withSteps(1, 100).withBatch(8, 64, 1)
                    .withSchedule(LrSchedule.CONSTANT, 0);
            Trainer t = new Trainer(cfg, task, lora, reader(data, 8, true, 4), reader(data, 8, false, 0),
                    dir.resolve("out-bert"), d -> Files.createDirectories(d));
            Trainer.Result r = t.run(null, new Trainer.Listener() {});
            assertTrue(r.steps().getLast().loss() < 0.05, "final loss " + r.steps().getLast());
            assertEquals(1.0, r.evals().getLast().accuracy());
        }
    }

    /** Losses of steps 6..10 of a run resumed from its step-5 checkpoint equal those of the uninterrupted run. */
    @Test
    void resumeContinuesTheSameTrajectory() throws IOException {
        ComputeBackend backend = new OpenBlasBackend();
        Path data = data(96, 3, 12);
        TrainConfig cfg = TrainConfig.defaults().withLr(5e-3).withSteps(1, 10).withBatch(4, 64, 2)
                .withSchedule(LrSchedule.COSINE, 0.2).withOptimizer(0.01, 0.5).withEvery(0, 5);
        Path folder = tiny(TinySpec.bert());
        Path outA = dir.resolve("a"), outB = dir.resolve("b");
        List<Trainer.StepMetrics> full, resumed;
        try (HfFolder f = HfFolder.open(folder);
             BertModel model = BertModel.create(BertConfig.fromJson(f.config(), "tiny"), f.tensors(), backend)) {
            try (Lora lora = lora(backend.kernels(), model, 4, 0.1f);
                 Task task = new ClassifyTask(model, new ClassificationHead(backend.kernels(), 32, 2,
                         ClassificationHead.Pooling.CLS, 9))) {
                full = new Trainer(cfg, task, lora, reader(data, 4, true, 7), null, outA, d -> Files.createDirectories(d))
                        .run(null, new Trainer.Listener() {}).steps();
            }
            Path checkpoint = outA.resolve("checkpoint-5");
            assertTrue(Files.isDirectory(checkpoint));
            try (Lora lora = lora(backend.kernels(), model, 4, 0.1f);
                 Task task = new ClassifyTask(model, new ClassificationHead(backend.kernels(), 32, 2,
                         ClassificationHead.Pooling.CLS, 1234))) {   // another head init: the checkpoint must win
                resumed = new Trainer(cfg, task, lora, reader(data, 4, true, 7), null, outB, d -> Files.createDirectories(d))
                        .run(checkpoint, new Trainer.Listener() {}).steps();
            }
        }
        assertEquals(5, resumed.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(full.get(5 + i).step(), resumed.get(i).step());
            assertEquals(full.get(5 + i).loss(), resumed.get(i).loss(), 1e-6, "loss of step " + resumed.get(i).step());
        }
    }

    @Test
    void aNanLossStopsAndNamesTheStep() throws IOException {
        ComputeBackend backend = new OpenBlasBackend();
        Path data = data(96, 4, 8);
        try (HfFolder f = HfFolder.open(tiny(TinySpec.llama()));
             LlamaModel model = LlamaModel.load(f, backend);
             Lora lora = lora(backend.kernels(), model, 2, 0f);
             Task task = new LmTask(model)) {
            String first = lora.modules().getFirst().aName();
            float[] a = lora.params().read(first);
            a[0] = Float.NaN;
            lora.params().write(first, a);
            Trainer t = new Trainer(TrainConfig.defaults().withSteps(1, 3).withBatch(4, 64, 1), task, lora,
                    reader(data, 4, false, 0), null, dir.resolve("nan"), d -> Files.createDirectories(d));
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                    () -> t.run(null, new Trainer.Listener() {}));
            assertEquals(1, e.step());
            assertTrue(e.getMessage().contains("step 1") && e.getMessage().contains("before any checkpoint"), e.getMessage());
        }
    }
}
