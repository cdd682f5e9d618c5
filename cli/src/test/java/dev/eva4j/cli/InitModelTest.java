package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** init --model end to end on generated tiny models, and its one-line errors. */
class InitModelTest {
    @TempDir
    Path tmp;
    Path llama, data;

    @BeforeEach
    void tinyModelAndData() throws Exception {
        llama = tmp.resolve("llama");
        assertEquals(0, CliRun.of("make-tiny-model", "--arch", "llama", "--out", llama.toString(), "--kv-heads", "2",
                "--qwen2").exit());
        JsonNode vocab = new ObjectMapper().readTree(llama.resolve("tokenizer.json").toFile()).get("model").get("vocab");
        List<String> words = new ArrayList<>();
        vocab.fieldNames().forEachRemaining(w -> { if (Character.isLetter(w.charAt(0))) words.add(w); });
        java.util.Random rnd = new java.util.Random(3);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            StringBuilder text = new StringBuilder();
            for (int j = 0, n = 6 + rnd.nextInt(30); j < n; j++) text.append(words.get(rnd.nextInt(words.size()))).append(' ');
            sb.append("{\"text\": \"").append(text.toString().strip()).append("\"}\n");
        }
        data = Files.writeString(tmp.resolve("data.jsonl"), sb.toString());
    }

    @Test
    void writesAnAdapterWithOnlyTheTargets() throws Exception {
        Path out = tmp.resolve("adapter");
        CliRun run = CliRun.of("init", "--model", llama.toString(), "--data", data.toString(), "--out", out.toString(),
                "--rank", "2", "--targets", "q_proj,v_proj,down_proj", "--batch-size", "8", "--svd", "warm");
        assertEquals(0, run.exit(), run.err());
        JsonNode config = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        int total = 0;
        try (SafetensorsFile w = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            for (String name : w.tensorNames()) {
                assertTrue(name.matches("base_model\\.model\\.model\\.layers\\.\\d\\.(self_attn\\.[qv]_proj|mlp\\.down_proj)"
                        + "\\.lora_[AB]\\.weight"), name);
                if (name.endsWith("lora_A.weight")) total += (int) w.info(name).shape()[0];
            }
        }
        assertEquals(2 * 6, total, "budget r x 6 target layers");
        assertEquals(llama.toAbsolutePath().normalize().toString(), config.get("base_model_name_or_path").asText());
    }

    @Test
    void modelInputMistakesAreOneLineErrors() throws Exception {
        Path unknown = Files.createDirectories(tmp.resolve("unknown"));
        Files.writeString(unknown.resolve("config.json"), "{\"model_type\": \"gpt9\"}");
        Files.copy(llama.resolve("model.safetensors"), unknown.resolve("model.safetensors"));
        Path noConfig = Files.createDirectories(tmp.resolve("noconfig"));
        Files.copy(llama.resolve("model.safetensors"), noConfig.resolve("model.safetensors"));
        Path badData = Files.writeString(tmp.resolve("bad.jsonl"), "{\"text\": \"a\"}\n{\"text\": 5}\n");
        Path corrupt = Files.write(tmp.resolve("model.onnx"), new byte[] {0x08, 0x07, 0x3a, 0x7f, 0x01});
        Path badIds = Files.writeString(tmp.resolve("ids.jsonl"), "{\"input_ids\": [5, 6, 7]}\n{\"input_ids\": [5, 999999]}\n");
        record Case(String expect, String... args) {}
        for (Case c : List.of(
                new Case("gpt9", "--model", unknown.toString(), "--data", data.toString()),
                new Case("no model loader understands", "--model", noConfig.toString(), "--data", data.toString()),
                new Case("bad.jsonl:2", "--model", llama.toString(), "--data", badData.toString()),
                new Case("model.onnx", "--model", corrupt.toString(), "--data", data.toString()),
                new Case("token id 999999 (record 2 of the batch, position 1) is outside the model's vocabulary",
                        "--model", llama.toString(), "--data", badIds.toString()),
                new Case("matches no linear layer", "--model", llama.toString(), "--data", data.toString(), "--targets", "nope"),
                new Case("--model needs --data", "--model", llama.toString()))) {
            List<String> args = new ArrayList<>(List.of("init", "--out", tmp.resolve("never").toString()));
            args.addAll(List.of(c.args()));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, run.exit(), c.expect() + ": " + run.err());
            assertTrue(run.errorLine().contains(c.expect()), c.expect() + " not in: " + run.err());
            assertFalse(run.err().contains("\tat "), run.err());
            assertFalse(Files.exists(tmp.resolve("never")));
        }
    }

    /**
     * --label-mask-value: positions whose label equals it are left out of the activations. One batch (all 40
     * records, one step), so the real-token count init prints is exactly the positions that fed EVA.
     */
    @Test
    void labelMaskValueLeavesThosePositionsOut() throws Exception {
        java.util.Random rnd = new java.util.Random(11);
        StringBuilder sb = new StringBuilder();
        int positions = 0, minus100 = 0, sevens = 0;
        for (int i = 0; i < 40; i++) {
            int n = 8 + rnd.nextInt(8);
            int[] ids = new int[n], labels = new int[n];
            for (int j = 0; j < n; j++) {
                ids[j] = 5 + rnd.nextInt(40);
                int kind = rnd.nextInt(4);
                labels[j] = kind == 0 ? -100 : kind == 1 ? 7 : ids[j];
                if (labels[j] == -100) minus100++;
                if (labels[j] == 7) sevens++;
            }
            positions += n;
            sb.append("{\"input_ids\": ").append(java.util.Arrays.toString(ids)).append(", \"labels\": ")
                    .append(java.util.Arrays.toString(labels)).append("}\n");
        }
        Path labelled = Files.writeString(tmp.resolve("labelled.jsonl"), sb.toString());
        assertTrue(minus100 > 0 && sevens > 0 && minus100 != sevens, "the three cases must differ");
        record Expect(List<String> extra, int tokens, int maskValue, boolean useMask) {}
        for (Expect e : List.of(new Expect(List.of(), positions - minus100, -100, true),
                new Expect(List.of("--label-mask-value", "7"), positions - sevens, 7, true),
                new Expect(List.of("--no-label-mask", "--label-mask-value", "7"), positions, 7, false))) {
            Path out = tmp.resolve("adapter" + e.tokens() + e.useMask());
            List<String> args = new ArrayList<>(List.of("init", "--model", llama.toString(), "--data",
                    labelled.toString(), "--out", out.toString(), "--rank", "2", "--targets", "q_proj",
                    "--batch-size", "64", "--max-steps", "1", "--accept-unconverged", "--svd", "exact"));
            args.addAll(e.extra());
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, run.exit(), run.err());
            assertTrue(run.err().contains(e.tokens() + " real tokens through the model"), e + ": " + run.err());
            JsonNode eva = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile()).get("eva_config");
            assertEquals(e.maskValue(), eva.get("label_mask_value").asInt());
            assertEquals(e.useMask(), eva.get("use_label_mask").asBoolean());
        }
    }

    /**
     * Data that can never give EVA a step is named as such (exit 2), not run to --max-steps and reported as "did not
     * converge": a one-token file (fewer rows than the k = round(r * rho) a step needs), and records whose every
     * position is masked.
     */
    @Test
    void tooLittleDataIsNamed() throws Exception {
        Path oneToken = Files.writeString(tmp.resolve("one.jsonl"), "{\"input_ids\": [5], \"attention_mask\": [1]}\n");
        Path masked = Files.writeString(tmp.resolve("masked.jsonl"),
                "{\"input_ids\": [5, 6, 7], \"attention_mask\": [0, 0, 0]}\n".repeat(3));
        record Case(Path data, String expect) {}
        for (Case c : List.of(new Case(oneToken, "never received the k = 4 rows one step needs in a full pass over the data"),
                new Case(masked, "every position is masked"))) {
            CliRun run = CliRun.of("init", "--model", llama.toString(), "--data", c.data().toString(), "--out",
                    tmp.resolve("never").toString(), "--rank", "2", "--max-steps", "50");
            assertEquals(2, run.exit(), run.err());
            assertTrue(run.errorLine().contains(c.expect()), c.expect() + " not in: " + run.err());
            assertFalse(run.err().contains("did not converge"), run.err());
            assertFalse(Files.exists(tmp.resolve("never")));
        }
    }

    /** --precision float64 runs end to end and is recorded; a bad value is a one-line error. */
    @Test
    void float64Precision() throws Exception {
        Path out = tmp.resolve("f64");
        CliRun run = CliRun.of("init", "--model", llama.toString(), "--data", data.toString(), "--out", out.toString(),
                "--rank", "2", "--batch-size", "8", "--precision", "float64");
        assertEquals(0, run.exit(), run.err());
        JsonNode report = new ObjectMapper().readTree(out.resolve("eva_report.json").toFile());
        assertEquals("float64", report.get("precision").asText());
        CliRun bad = CliRun.of("init", "--model", llama.toString(), "--data", data.toString(), "--out",
                tmp.resolve("never").toString(), "--precision", "float16");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.errorLine().contains("--precision must be float32 or float64"), bad.err());
    }
}
