package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.safetensors.TensorInfo;
import dev.eva4j.api.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitCommandTest {
    @TempDir
    Path tmp;

    @Test
    void writesAPeftAdapterExactlyPerTheSpec() throws Exception {
        Path acts = ActivationFixtures.write(tmp.resolve("acts"), 12, 200, 1);
        Path out = tmp.resolve("adapter");
        CliRun run = CliRun.of("init", "--activations", acts.toString(), "--out", out.toString(), "--rank", "4",
                "--alpha", "8", "--svd", "exact", "--tau", "0.99", "--base-model", "my/model", "--task-type", "CAUSAL_LM");
        assertEquals(0, run.exit(), run.err());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors", "eva_report.json"),
                    new HashSet<>(files.map(p -> p.getFileName().toString()).toList()));
        }
        JsonNode config = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("LORA", config.get("peft_type").asText());
        assertEquals("eva", config.get("init_lora_weights").asText());
        assertEquals(4, config.get("r").asInt());
        assertEquals(8, config.get("lora_alpha").asInt());
        assertEquals("my/model", config.get("base_model_name_or_path").asText());
        assertEquals("CAUSAL_LM", config.get("task_type").asText());
        assertEquals("none", config.get("bias").asText());
        assertFalse(config.get("fan_in_fan_out").asBoolean());
        JsonNode eva = config.get("eva_config");
        for (String f : List.of("rho", "tau", "use_label_mask", "label_mask_value", "whiten", "adjust_scaling_factors")) {
            assertTrue(eva.has(f), f);
        }
        JsonNode report = new ObjectMapper().readTree(out.resolve("eva_report.json").toFile());
        int total = 0;
        List<String> targets = new ArrayList<>();
        config.get("target_modules").forEach(t -> targets.add(t.asText()));
        try (SafetensorsFile weights = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            for (String module : List.of(ActivationFixtures.Q, ActivationFixtures.K, ActivationFixtures.V,
                    ActivationFixtures.DOWN)) {
                JsonNode layer = report.get("layers").get(module);
                int rank = layer.get("rank").asInt();
                total += rank;
                assertTrue(layer.get("steps").asInt() >= 2 && layer.get("tokens").asLong() > 0, layer.toString());
                assertTrue(layer.get("converged").asBoolean());
                String a = "base_model.model." + module + ".lora_A.weight", b = "base_model.model." + module + ".lora_B.weight";
                if (rank == 0) {
                    assertFalse(weights.contains(a) || weights.contains(b) || targets.contains(module), module);
                    continue;
                }
                assertTrue(targets.contains(module));
                TensorInfo ai = weights.info(a), bi = weights.info(b);
                int in = module.equals(ActivationFixtures.DOWN) ? 48 : 32;
                assertEquals(DType.F32, ai.dtype());
                assertEquals(DType.F32, bi.dtype());
                assertArrayEquals(new long[] {rank, in}, ai.shape());
                assertArrayEquals(new long[] {ActivationFixtures.OUT.get(module), rank}, bi.shape());
                for (float v : weights.readFloats(b)) assertEquals(0f, v);
                float[] av = weights.readFloats(a);
                for (int i = 0; i < rank; i++) { // unit rows
                    double n = 0;
                    for (int j = 0; j < in; j++) n += av[i * in + j] * av[i * in + j];
                    assertEquals(1.0, n, 1e-4);
                }
                JsonNode pattern = config.get("rank_pattern").get(module);
                assertEquals(rank == 4, pattern == null, module);
                if (pattern != null) assertEquals(rank, pattern.asInt());
                JsonNode alpha = config.get("alpha_pattern").get(module);
                if (rank != 4) assertEquals(8.0 * rank / 4, alpha.asDouble(), 1e-12);
            }
            assertEquals(16, total, "ranks sum to the budget r x layers");
            // equal-input group: identical leading rows
            float[] q = weights.readFloats("base_model.model." + ActivationFixtures.Q + ".lora_A.weight");
            float[] k = weights.readFloats("base_model.model." + ActivationFixtures.K + ".lora_A.weight");
            for (int i = 0; i < Math.min(q.length, k.length); i++) assertEquals(q[i], k[i]);
        }
        assertTrue(run.out().contains("total rank 16"), run.out());
    }

    @Test
    void badInputIsOneLineExitTwoAndLeavesNoAdapter() throws Exception {
        Path good = ActivationFixtures.write(tmp.resolve("good"), 3, 100, 2);
        Path out = tmp.resolve("never");
        // wrong dims between batches
        Path wrong = ActivationFixtures.write(tmp.resolve("wrong"), 3, 100, 3);
        SafetensorsWriter.write(wrong.resolve("batch-0001.safetensors"), List.of(TensorData.ofFloats(
                ActivationFixtures.Q, new long[] {100, 31}, new float[3100])), Map.of());
        // NaN rows
        Path nan = ActivationFixtures.write(tmp.resolve("nan"), 3, 100, 4);
        float[] bad = new float[100 * 32];
        bad[5 * 32 + 7] = Float.POSITIVE_INFINITY;
        SafetensorsWriter.write(nan.resolve("batch-0002.safetensors"), List.of(TensorData.ofFloats(
                ActivationFixtures.Q, new long[] {100, 32}, bad)), Map.of());
        Path empty = Files.write(tmp.resolve("empty.safetensors"), new byte[0]);
        Path emptyDir = Files.createDirectories(tmp.resolve("emptydir"));
        record Case(String expect, String... args) {}
        List<Case> cases = List.of(
                new Case("has d_in = 31", "--activations", wrong.toString()),
                new Case("Infinity at row 5, column 7", "--activations", nan.toString()),
                new Case("exceeds in_features = 32", "--activations", good.toString(), "--rank", "40"),
                new Case("tau must be in [0, 1]", "--activations", good.toString(), "--tau", "1.5"),
                new Case("empty.safetensors", "--activations", empty.toString()),
                new Case("no .safetensors files", "--activations", emptyDir.toString()),
                new Case("no such file", "--activations", tmp.resolve("missing").toString()),
                new Case("--svd must be exact, lowrank or warm", "--activations", good.toString(), "--svd", "fast"),
                new Case("did not converge", "--activations", good.toString(), "--tau", "1", "--max-steps", "3"));
        for (Case c : cases) {
            List<String> args = new ArrayList<>(List.of("init", "--out", out.toString()));
            args.addAll(List.of(c.args()));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, run.exit(), c.expect() + "\n" + run.err());
            String line = run.errorLine();
            assertTrue(line.contains(c.expect()), "expected '" + c.expect() + "' in: " + run.err());
            assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
            assertFalse(Files.exists(out), "no adapter left behind for " + c.expect());
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(".never")), "no temp folder left");
        }
    }

    @Test
    void anExistingAdapterIsReplacedOnlyOnSuccess() throws Exception {
        Path acts = ActivationFixtures.write(tmp.resolve("acts"), 8, 150, 5);
        Path out = Files.createDirectories(tmp.resolve("adapter"));
        Files.writeString(out.resolve("adapter_config.json"), "{\"old\": true}");
        CliRun failed = CliRun.of("init", "--activations", acts.toString(), "--out", out.toString(), "--rank", "99");
        assertEquals(2, failed.exit());
        assertEquals("{\"old\": true}", Files.readString(out.resolve("adapter_config.json")));
        CliRun ok = CliRun.of("init", "--activations", acts.toString(), "--out", out.toString(), "--rank", "2",
                "--svd", "warm");
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(Files.readString(out.resolve("adapter_config.json")).contains("\"peft_type\""));
    }

    /**
     * make-activations --layers writes one tensor per layer (each its own spectrum) that init reads as separate
     * layers; a step splits at most --rows-per-step rows, and float64 gives the float32 ranks on well-separated data.
     */
    @Test
    void multiLayerSyntheticActivationsRunInBothPrecisions() throws Exception {
        Path acts = tmp.resolve("multi");
        CliRun made = CliRun.of("make-activations", "--out", acts.toString(), "--rows", "1200", "--dim", "48",
                "--files", "2", "--layers", "3");
        assertEquals(0, made.exit(), made.err());
        try (dev.eva4j.api.safetensors.SafetensorsFile f = dev.eva4j.api.safetensors.SafetensorsFile.open(
                acts.resolve("batch-000000.safetensors"))) {
            assertEquals(java.util.List.of("layer.0", "layer.1", "layer.2"), f.tensorNames());
        }
        com.fasterxml.jackson.databind.JsonNode[] reports = new com.fasterxml.jackson.databind.JsonNode[2];
        String[] precisions = {"float32", "float64"};
        for (int i = 0; i < 2; i++) {
            Path out = tmp.resolve("multi-" + precisions[i]);
            CliRun run = CliRun.of("init", "--activations", acts.toString(), "--out", out.toString(), "--rank", "2",
                    "--rows-per-step", "250", "--precision", precisions[i], "--max-steps", "8", "--accept-unconverged");
            assertEquals(0, run.exit(), run.err());
            reports[i] = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("eva_report.json").toFile());
            assertEquals(3, reports[i].get("layers").size());
            // 600 rows per file in steps of at most 250: 250, 250, 100 (not 250 + 350): a layer's tokens after
            // s steps are the sum of the first s of 250, 250, 100, 250, 250, 100, ...
            java.util.Set<Long> sums = new java.util.HashSet<>();
            long sum = 0;
            for (int s = 0; s < 8; s++) sums.add(sum += (s % 3 == 2 ? 100 : 250));
            for (var layer : reports[i].get("layers")) {
                assertTrue(sums.contains(layer.get("tokens").asLong()), layer.toString());
            }
        }
        for (String layer : java.util.List.of("layer.0", "layer.1", "layer.2")) {
            assertEquals(reports[0].get("layers").get(layer).get("rank"), reports[1].get("layers").get(layer).get("rank"), layer);
        }
    }
}
