package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.models.peft.PeftLoraAdapter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** eva4j train and eva4j plot end to end on generated tiny models, and train's one-line errors. */
class TrainCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TempDir
    static Path shared;
    static Path bert, llama, labelled, texts;

    @TempDir
    Path tmp;

    /** A tiny BERT and a tiny Llama; 48 texts of the tokenizer's words, labelled 1 when they hold "the". */
    @BeforeAll
    static void tinyModelsAndData() throws IOException {
        bert = shared.resolve("bert");
        llama = shared.resolve("llama");
        assertEquals(0, CliRun.of("make-tiny-model", "--arch", "bert", "--out", bert.toString()).exit());
        assertEquals(0, CliRun.of("make-tiny-model", "--arch", "llama", "--out", llama.toString(), "--kv-heads", "2").exit());
        JsonNode vocab = JSON.readTree(bert.resolve("tokenizer.json").toFile()).get("model").get("vocab");
        List<String> words = new ArrayList<>();
        vocab.fieldNames().forEachRemaining(w -> {
            if (Character.isLetter(w.charAt(0)) && !w.equals("the")) words.add(w);
        });
        Random rnd = new Random(7);
        StringBuilder withLabels = new StringBuilder(), plain = new StringBuilder();
        for (int i = 0; i < 48; i++) {
            StringBuilder text = new StringBuilder();
            int label = i % 2;
            for (int j = 0, n = 6 + rnd.nextInt(20); j < n; j++) {
                text.append(label == 1 && j % 3 == 0 ? "the" : words.get(rnd.nextInt(words.size()))).append(' ');
            }
            withLabels.append("{\"text\": \"").append(text.toString().strip()).append("\", \"label\": ").append(label).append("}\n");
            plain.append("{\"text\": \"").append(text.toString().strip()).append("\"}\n");
        }
        labelled = Files.writeString(shared.resolve("labelled.jsonl"), withLabels.toString());
        texts = Files.writeString(shared.resolve("texts.jsonl"), plain.toString());
    }

    private static CliRun train(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--out", out.toString(), "--batch-size", "8",
                "--max-length", "32"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    private static List<JsonNode> metrics(Path run) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) out.add(JSON.readTree(l));
        return out;
    }

    private static Set<String> fields(JsonNode n) {
        Set<String> s = new TreeSet<>();
        n.fieldNames().forEachRemaining(s::add);
        return s;
    }

    private static void assertPng(Path f) throws IOException {
        assertTrue(Files.isRegularFile(f), f + " missing");
        assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Files.readAllBytes(f), 8), f + " is not a PNG");
    }

    @Test
    void classifiesWithAHeadAndWritesEverything() throws IOException {
        Path out = tmp.resolve("run");
        CliRun run = train(out, "--model", bert.toString(), "--data", labelled.toString(), "--eval-data",
                labelled.toString(), "--task", "classify", "--init", "lora", "--max-steps", "6", "--eval-every", "3",
                "--lr", "5e-3");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("adapter written to " + out.resolve("adapter")), run.out());
        assertTrue(run.out().matches("(?s)trained 6 step\\(s\\) in .* final loss \\d\\.\\d+; eval loss \\d\\.\\d+, accuracy "
                + "\\d\\.\\d+ \\(before: .*"), run.out());
        List<JsonNode> lines = metrics(out);
        List<JsonNode> steps = lines.stream().filter(n -> n.has("loss")).toList();
        List<JsonNode> evals = lines.stream().filter(n -> n.has("eval_loss")).toList();
        assertEquals(6, steps.size());
        for (int i = 0; i < 6; i++) {
            assertEquals(Set.of("step", "loss", "lr", "grad_norm", "tokens", "seconds"), fields(steps.get(i)));
            assertEquals(i + 1, steps.get(i).get("step").asInt());
            assertTrue(steps.get(i).get("loss").asDouble() > 0 && steps.get(i).get("tokens").asLong() > 0);
        }
        assertEquals(List.of(0, 3, 6), evals.stream().map(n -> n.get("step").asInt()).toList(), "before, every 3, end");
        for (JsonNode e : evals) assertEquals(Set.of("step", "eval_loss", "eval_accuracy"), fields(e));
        assertPng(out.resolve("loss.png"));
        PeftLoraAdapter saved = PeftLoraAdapter.read(out.resolve("adapter"));
        assertEquals(12, saved.modules().size(), "every linear layer of 2 blocks");
        assertEquals(8, saved.settings().r());
        assertEquals("SEQ_CLS", saved.meta().taskType());
        assertNotNull(saved.head());
        assertEquals(2, saved.head().numLabels());
        assertTrue(Files.isDirectory(out.resolve("checkpoint-6")));
    }

    @Test
    void trainsACausalLmAndResumesOnTheSameTrajectory() throws IOException {
        Path full = tmp.resolve("full"), resumed = tmp.resolve("resumed");
        String[] common = {"--model", llama.toString(), "--data", texts.toString(), "--task", "lm", "--init",
                "gaussian", "--max-steps", "6", "--checkpoint-every", "3", "--lr", "1e-2", "--dropout", "0.1"};
        CliRun run = train(full, common);
        assertEquals(0, run.exit(), run.err());
        assertEquals("CAUSAL_LM", PeftLoraAdapter.read(full.resolve("adapter")).meta().taskType());
        assertEquals("gaussian", PeftLoraAdapter.read(full.resolve("adapter")).meta().initLoraWeights());
        List<String> more = new ArrayList<>(List.of(common));
        more.addAll(List.of("--resume", full.resolve("checkpoint-3").toString()));
        CliRun again = train(resumed, more.toArray(String[]::new));
        assertEquals(0, again.exit(), again.err());
        List<JsonNode> a = metrics(full), b = metrics(resumed);
        assertEquals(6, a.size());
        assertEquals(List.of(4, 5, 6), b.stream().map(n -> n.get("step").asInt()).toList());
        for (int i = 0; i < 3; i++) {
            assertEquals(a.get(3 + i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), 1e-6,
                    "loss of step " + (4 + i));
        }
        assertTrue(a.getLast().get("loss").asDouble() < a.getFirst().get("loss").asDouble(), "the loss falls: " + a);
        assertPng(resumed.resolve("loss.png"));
    }

    @Test
    void startsFromAnEvaInitAdapterAndFromEvaInLine() throws IOException {
        Path evaAdapter = tmp.resolve("eva-adapter");
        assertEquals(0, CliRun.of("init", "--model", bert.toString(), "--data", labelled.toString(), "--out",
                evaAdapter.toString(), "--rank", "4", "--batch-size", "8", "--max-length", "32").exit());
        Path fromFolder = tmp.resolve("from-folder"), inLine = tmp.resolve("in-line");
        CliRun run = train(fromFolder, "--model", bert.toString(), "--data", labelled.toString(), "--task", "classify",
                "--adapter", evaAdapter.toString(), "--max-steps", "2");
        assertEquals(0, run.exit(), run.err());
        PeftLoraAdapter init = PeftLoraAdapter.read(evaAdapter), trained = PeftLoraAdapter.read(fromFolder.resolve("adapter"));
        assertEquals("eva", trained.meta().initLoraWeights());
        assertEquals(init.modules().stream().map(m -> m.path() + "=" + m.rank()).toList(),
                trained.modules().stream().map(m -> m.path() + "=" + m.rank()).toList(), "EVA's ranks are kept");
        CliRun eva = train(inLine, "--model", bert.toString(), "--data", labelled.toString(), "--task", "classify",
                "--rank", "4", "--max-steps", "2");
        assertEquals(0, eva.exit(), eva.err());
        assertTrue(eva.err().contains("init eva"), eva.err());
        assertEquals(4 * 12, PeftLoraAdapter.read(inLine.resolve("adapter")).modules().stream().mapToInt(m -> m.rank()).sum(),
                "EVA redistributes a budget of r per layer");
    }

    @Test
    void pissaIsExportedForTheOriginalWeights() throws IOException {
        Path out = tmp.resolve("pissa");
        String[] options = {"--model", bert.toString(), "--data", labelled.toString(), "--task", "classify", "--init",
                "pissa", "--rank", "4", "--max-steps", "3", "--checkpoint-every", "2", "--lr", "1e-2"};
        CliRun run = train(out, options);
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("exported for the ORIGINAL base weights as a rank-8"), run.out());
        PeftLoraAdapter exported = PeftLoraAdapter.read(out.resolve("adapter"));
        assertEquals(8, exported.settings().r());
        assertEquals(8.0 * 4, exported.settings().alpha(), "alpha doubled with r: the same scaling");
        assertFalse(exported.meta().relativeToResidualBase());
        assertTrue(PeftLoraAdapter.read(out.resolve("checkpoint-2").resolve("adapter")).meta().relativeToResidualBase(),
                "the checkpoint keeps the adapter of the residual weights, to resume from");
        // resuming redoes the (deterministic) PiSSA split of the base weights, then loads the checkpoint's A and B
        List<String> resume = new ArrayList<>(List.of(options));
        resume.addAll(List.of("--resume", out.resolve("checkpoint-2").toString()));
        Path again = tmp.resolve("pissa-again");
        CliRun resumed = train(again, resume.toArray(String[]::new));
        assertEquals(0, resumed.exit(), resumed.err());
        assertEquals(metrics(out).getLast().get("loss").asDouble(), metrics(again).getLast().get("loss").asDouble(), 1e-6);
        resume.set(resume.indexOf("pissa"), "lora");
        CliRun wrongInit = train(tmp.resolve("never"), resume.toArray(String[]::new));
        assertEquals(2, wrongInit.exit(), wrongInit.err());
        assertTrue(wrongInit.errorLine().contains("init_lora_weights pissa run"), wrongInit.err());
        assertFalse(Files.exists(tmp.resolve("never")));
    }

    @Test
    void aDivergingRunNamesTheStepAndKeepsNoAdapter() throws IOException {
        Path out = tmp.resolve("nan");
        CliRun run = train(out, "--model", bert.toString(), "--data", labelled.toString(), "--task", "classify",
                "--init", "lora", "--max-steps", "6", "--lr", "1e30", "--schedule", "constant");
        assertEquals(2, run.exit(), run.err());
        assertTrue(run.errorLine().matches("eva4j train: .* at optimiser step \\d+; training stopped.*"), run.err());
        assertFalse(run.err().contains("\tat "), run.err());
        assertFalse(Files.exists(out.resolve("adapter")));
    }

    @Test
    void userMistakesAreOneLineAndWriteNothing() throws IOException {
        Path notEmpty = Files.createDirectories(tmp.resolve("not-empty"));
        Files.writeString(notEmpty.resolve("keep.txt"), "mine");
        Path onlyConfig = Files.createDirectories(tmp.resolve("only-config"));
        Files.writeString(onlyConfig.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8}");
        Path llamaAdapter = tmp.resolve("llama-adapter");
        assertEquals(0, CliRun.of("init", "--model", llama.toString(), "--data", texts.toString(), "--out",
                llamaAdapter.toString(), "--rank", "2", "--batch-size", "8", "--max-length", "32").exit());
        String m = "--model", d = "--data", t = "--task";
        record Case(String expect, String... args) {}
        for (Case c : List.of(
                new Case("needs {\"text\", \"label\"} records", m, bert.toString(), d, texts.toString(), t, "classify"),
                new Case("classification data (--task classify)", m, llama.toString(), d, labelled.toString(), t, "lm"),
                new Case("needs a causal language model", m, bert.toString(), d, texts.toString(), t, "lm"),
                new Case("no such file or folder", m, bert.toString(), d, tmp.resolve("none.jsonl").toString(), t, "classify"),
                new Case("exceeds the layer's smaller dimension", m, bert.toString(), d, labelled.toString(), t,
                        "classify", "--init", "lora", "--rank", "40"),
                new Case("--adapter " + tmp.resolve("nowhere") + " does not exist", m, bert.toString(), d,
                        labelled.toString(), t, "classify", "--adapter", tmp.resolve("nowhere").toString()),
                new Case("adapter_model.safetensors", m, bert.toString(), d, labelled.toString(), t, "classify",
                        "--adapter", onlyConfig.toString()),
                new Case("is not in the model", m, bert.toString(), d, labelled.toString(), t, "classify",
                        "--adapter", llamaAdapter.toString()),
                new Case("outside [0, 1)", m, bert.toString(), d, labelled.toString(), t, "classify", "--num-labels", "1"),
                new Case("--task must be classify or lm", m, bert.toString(), d, labelled.toString(), t, "regress"),
                new Case("--init must be one of", m, bert.toString(), d, labelled.toString(), t, "classify", "--init", "xavier"))) {
            Path out = tmp.resolve("never");
            CliRun run = train(out, c.args());
            assertEquals(2, run.exit(), c.expect() + ": " + run.err());
            assertTrue(run.errorLine().contains(c.expect()), c.expect() + " not in: " + run.err());
            assertEquals(1, run.err().lines().filter(l -> l.startsWith("eva4j")).count(), run.err());
            assertFalse(run.err().contains("\tat "), run.err());
            assertFalse(Files.exists(out), c.expect() + ": " + out + " was created");
        }
        CliRun full = train(notEmpty, m, bert.toString(), d, labelled.toString(), t, "classify", "--init", "lora");
        assertEquals(2, full.exit(), full.err());
        assertTrue(full.errorLine().contains("already holds files"), full.err());
        try (var files = Files.list(notEmpty)) {
            assertEquals(List.of(notEmpty.resolve("keep.txt")), files.toList());
        }
    }

    @Test
    void plotOverlaysRuns() throws IOException {
        Path a = tmp.resolve("lr-high"), b = tmp.resolve("lr-low");
        for (Path out : List.of(a, b)) {
            CliRun run = train(out, "--model", bert.toString(), "--data", labelled.toString(), "--task", "classify",
                    "--init", "lora", "--max-steps", "3", "--lr", out == a ? "1e-2" : "1e-4");
            assertEquals(0, run.exit(), run.err());
        }
        Path png = tmp.resolve("plots").resolve("both.png");
        CliRun run = CliRun.of("plot", "--out", png.toString(), a.toString(), b.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("plotted 2 run(s), 6 step(s)"), run.out());
        assertPng(png);
        try (var files = Files.list(png.getParent())) {
            assertEquals(List.of(png), files.toList(), "no temporary file left");
        }
        CliRun missing = CliRun.of("plot", "--out", png.toString(), a.toString(), tmp.resolve("no-run").toString());
        assertEquals(2, missing.exit(), missing.err());
        assertTrue(missing.errorLine().contains("no-run"), missing.err());
    }
}
