package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.models.peft.PeftLoraAdapter;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.models.tiny.TinyTokenizer;
import dev.eva4j.models.train.LoraSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eva4j merge} and {@code eva4j eval} end to end on tiny models, and their one-line errors. */
class PeftCommandsTest {
    private static final Pattern LOSS = Pattern.compile("loss ([0-9.]+), accuracy ([0-9.]+) \\((\\d+) of (\\d+)");

    @TempDir
    static Path tmp;
    static Path llama, bert, llamaAdapter, bertAdapter, lmData, clsData;

    @BeforeAll
    static void fixtures() throws Exception {
        llama = tmp.resolve("llama");
        bert = tmp.resolve("bert");
        TinyModels.write(llama, TinySpec.llama());
        TinyModels.write(bert, TinySpec.bert());
        llamaAdapter = tmp.resolve("llama-adapter");
        bertAdapter = tmp.resolve("bert-adapter");
        var backend = new JavaBackend();
        try (TransformerModel m = new HfModelLoader().load(llama, backend);
             Lora lora = new Lora(m.kernels(), LoraSettings.of(4, 8).modules(m.linears()), 0f, 1)) {
            randomise(lora.params(), 0.2, 1);
            PeftLoraAdapter.write(llamaAdapter, LoraSettings.of(4, 8), lora, null,
                    new PeftLoraAdapter.Meta(llama.toString(), "CAUSAL_LM", null));
        }
        LoraSettings bertSettings = LoraSettings.of(2, 4).withTargets("query,value");
        try (TransformerModel m = new HfModelLoader().load(bert, backend);
             Lora lora = new Lora(m.kernels(), bertSettings.modules(m.linears()), 0f, 1);
             ClassificationHead head = new ClassificationHead(m.kernels(), 32, 2, ClassificationHead.Pooling.MEAN, 2)) {
            randomise(lora.params(), 0.2, 3);
            randomise(head.params(), 1.0, 4);
            PeftLoraAdapter.write(bertAdapter, bertSettings, lora, head, new PeftLoraAdapter.Meta(null, "SEQ_CLS", "eva"));
        }
        List<String> words = TinyTokenizer.vocabulary(TinySpec.Arch.LLAMA, 96).subList(20, 96);
        Random rnd = new Random(5);
        StringBuilder lm = new StringBuilder(), cls = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            StringBuilder text = new StringBuilder();
            for (int j = 0, n = 4 + rnd.nextInt(12); j < n; j++) text.append(words.get(rnd.nextInt(words.size()))).append(' ');
            lm.append("{\"text\": \"").append(text.toString().strip()).append("\"}\n");
            cls.append("{\"text\": \"").append(text.toString().strip()).append("\", \"label\": ").append(i % 2).append("}\n");
        }
        lmData = Files.writeString(tmp.resolve("lm.jsonl"), lm);
        clsData = Files.writeString(tmp.resolve("cls.jsonl"), cls);
    }

    static void randomise(ParameterBlock p, double std, long seed) {
        Random rnd = new Random(seed);
        for (ParameterBlock.Spec s : p.specs()) {
            float[] v = new float[Math.toIntExact(s.length())];
            for (int i = 0; i < v.length; i++) v[i] = (float) (std * rnd.nextGaussian());
            p.write(s.name(), v);
        }
    }

    /** loss, accuracy, correct, counted from eval's output line. */
    static double[] result(CliRun run) {
        assertEquals(0, run.exit(), run.err());
        Matcher m = LOSS.matcher(run.out());
        assertTrue(m.find(), run.out());
        return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)),
                Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4))};
    }

    @Test
    void aMergedLlamaEvaluatesAsBasePlusAdapterAndFeedsInit() throws Exception {
        Path merged = tmp.resolve("llama-merged");
        CliRun merge = CliRun.of("merge", "--model", llama.toString(), "--adapter", llamaAdapter.toString(),
                "--out", merged.toString(), "--backend", "java");
        assertEquals(0, merge.exit(), merge.err());
        assertTrue(merge.out().contains("merged 14 LoRA layer(s) into"), merge.out());
        assertTrue(merge.out().contains("model.safetensors"), merge.out());

        double[] adapted = result(CliRun.of("eval", "--model", llama.toString(), "--adapter", llamaAdapter.toString(),
                "--data", lmData.toString(), "--batch-size", "8", "--backend", "java"));
        double[] mergedResult = result(CliRun.of("eval", "--model", merged.toString(), "--data", lmData.toString(),
                "--task", "lm", "--backend", "java"));
        double[] base = result(CliRun.of("eval", "--model", llama.toString(), "--data", lmData.toString(), "--backend", "java"));
        assertTrue(adapted[3] > 100, "next-token positions counted: " + adapted[3]);
        assertEquals(adapted[3], mergedResult[3]);
        assertEquals(adapted[0], mergedResult[0], 1e-5 * adapted[0], "loss with the adapter vs merged");
        assertEquals(adapted[2], mergedResult[2], 1, "accuracy: at most a tie flips");
        assertTrue(Math.abs(base[0] - adapted[0]) > 1e-3, "the adapter changes the loss");

        Path eva = tmp.resolve("eva-on-merged");
        CliRun init = CliRun.of("init", "--model", merged.toString(), "--data", lmData.toString(), "--out", eva.toString(),
                "--rank", "2", "--svd", "warm", "--batch-size", "8", "--backend", "java");
        assertEquals(0, init.exit(), init.err());
        assertTrue(Files.isRegularFile(eva.resolve("adapter_model.safetensors")));
    }

    @Test
    void aClassificationAdapterAndItsMergeGiveTheSameResult() throws Exception {
        double[] adapted = result(CliRun.of("eval", "--model", bert.toString(), "--adapter", bertAdapter.toString(),
                "--data", clsData.toString(), "--batch-size", "5", "--backend", "java"));
        assertEquals(24, adapted[3]);
        Path merged = tmp.resolve("bert-merged");
        CliRun merge = CliRun.of("merge", "--model", bert.toString(), "--adapter", bertAdapter.toString(),
                "--out", merged.toString(), "--max-shard-size", "30KB");
        assertEquals(0, merge.exit(), merge.err());
        assertTrue(merge.out().contains("and a 2-label head"), merge.out());
        assertTrue(merge.out().contains("shards with model.safetensors.index.json"), merge.out());
        CliRun run = CliRun.of("eval", "--model", merged.toString(), "--data", clsData.toString(), "--backend", "java");
        double[] fromMerged = result(run);
        assertTrue(run.out().startsWith("classify:"), "the task follows eva4j_head.json: " + run.out());
        assertEquals(adapted[0], fromMerged[0], 1e-5 * adapted[0]);
        assertEquals(adapted[2], fromMerged[2]);
    }

    @Test
    void badInputIsOneLineWithExitCode2() throws Exception {
        Path noWeights = Files.createDirectories(tmp.resolve("no-weights"));
        Files.copy(llamaAdapter.resolve("adapter_config.json"), noWeights.resolve("adapter_config.json"));
        Path never = tmp.resolve("never");
        record Case(String expect, String... args) {}
        List<Case> cases = List.of(
                new Case("no \"label\"", "eval", "--model", bert.toString(), "--adapter", bertAdapter.toString(),
                        "--data", lmData.toString(), "--task", "classify"),
                new Case("has no causal-LM head", "eval", "--model", bert.toString(), "--data", lmData.toString(),
                        "--task", "lm"),
                new Case("classify needs a trained head", "eval", "--model", bert.toString(), "--data", clsData.toString(),
                        "--task", "classify"),
                new Case("no adapter_model.safetensors", "eval", "--model", llama.toString(), "--adapter",
                        noWeights.toString(), "--data", lmData.toString()),
                new Case("--task must be classify or lm", "eval", "--model", llama.toString(), "--data", lmData.toString(),
                        "--task", "regress"),
                new Case("no such file or folder", "eval", "--model", llama.toString(), "--data",
                        tmp.resolve("missing.jsonl").toString()),
                new Case("is not in the model", "merge", "--model", bert.toString(), "--adapter", llamaAdapter.toString(),
                        "--out", never.toString()),
                new Case("--max-shard-size", "merge", "--model", llama.toString(), "--adapter", llamaAdapter.toString(),
                        "--out", never.toString(), "--max-shard-size", "lots"),
                new Case("is the adapter folder", "merge", "--model", llama.toString(), "--adapter", llamaAdapter.toString(),
                        "--out", llamaAdapter.toString()),
                new Case("does not exist", "merge", "--model", llama.toString(), "--adapter", tmp.resolve("nope").toString(),
                        "--out", never.toString()));
        for (Case c : cases) {
            CliRun run = CliRun.of(c.args());
            assertEquals(2, run.exit(), String.join(" ", c.args()) + "\n" + run.err());
            String line = run.errorLine();
            assertTrue(line.startsWith("eva4j " + c.args()[0] + ": ") && line.contains(c.expect()), c.expect() + " in: " + run.err());
            assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        }
        assertFalse(Files.exists(never), "nothing half-written");
        List<String> leftovers = new ArrayList<>();
        try (var s = Files.list(tmp)) {
            s.filter(p -> p.getFileName().toString().startsWith(".never")).forEach(p -> leftovers.add(p.toString()));
        }
        assertEquals(List.of(), leftovers);
        assertTrue(Files.isRegularFile(llamaAdapter.resolve("adapter_model.safetensors")), "the adapter is untouched");
    }
}
