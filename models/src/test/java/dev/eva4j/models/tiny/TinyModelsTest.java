package dev.eva4j.models.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.llama.LlamaConfig;
import dev.eva4j.models.llama.LlamaTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyModelsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void llamaFolderHoldsWhatItsConfigDescribes(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("tiny");
        TinySpec spec = TinySpec.llama().withKvHeads(2).withQwen2Biases(true).withLlama3RopeScaling(true);
        TinyModels.write(dir, spec);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        LlamaConfig c = LlamaConfig.read(dir);
        assertEquals("qwen2", c.modelType());
        assertEquals(2, c.numKvHeads());
        assertTrue(c.qkvBias());
        assertEquals(8.0, c.ropeScaling().factor());
        assertEquals(TinyModels.llamaConfig(spec), c);
        try (var ckpt = SafetensorsCheckpoint.open(dir)) {
            List<dev.eva4j.models.nn.ParameterBlock.Spec> expected = LlamaTensors.expected(c);
            assertEquals(expected.stream().map(dev.eva4j.models.nn.ParameterBlock.Spec::name).toList(), ckpt.tensorNames());
            for (dev.eva4j.models.nn.ParameterBlock.Spec s : expected) {
                assertArrayEquals(s.shape(), ckpt.info(s.name()).shape(), s.name());
                assertEquals(DType.F32, ckpt.info(s.name()).dtype());
            }
            assertTrue(ckpt.contains("model.layers.1.self_attn.k_proj.bias"));
            assertTrue(ckpt.contains("lm_head.weight"));
        }
    }

    @Test
    void tiedBf16ModelHasNoLmHead(@TempDir Path tmp) throws Exception {
        TinyModels.write(tmp, TinySpec.llama().withTiedEmbeddings(true).withDtype(DType.BF16));
        JsonNode config = JSON.readTree(tmp.resolve("config.json").toFile());
        assertTrue(config.get("tie_word_embeddings").booleanValue());
        assertEquals("bfloat16", config.get("torch_dtype").asText());
        try (var ckpt = SafetensorsCheckpoint.open(tmp)) {
            assertFalse(ckpt.contains("lm_head.weight"));
            assertEquals(DType.BF16, ckpt.info("model.embed_tokens.weight").dtype());
            assertFalse(ckpt.contains("model.layers.0.self_attn.q_proj.bias"));
        }
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherWeights(@TempDir Path tmp) throws Exception {
        TinyModels.write(tmp.resolve("a"), TinySpec.llama());
        TinyModels.write(tmp.resolve("b"), TinySpec.llama());
        TinyModels.write(tmp.resolve("c"), TinySpec.llama().withSeed(7));
        byte[] a = Files.readAllBytes(tmp.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        assertFalse(java.util.Arrays.equals(a, Files.readAllBytes(tmp.resolve("c/model.safetensors"))));
        try (var ckpt = SafetensorsCheckpoint.open(tmp.resolve("a"))) {
            float[] norm = ckpt.readFloats("model.norm.weight");
            float[] q = ckpt.readFloats("model.layers.0.self_attn.q_proj.weight");
            double normMean = 0, qVar = 0;
            for (float v : norm) normMean += v / norm.length;
            for (float v : q) qVar += (double) v * v / q.length;
            assertEquals(1.0, normMean, 0.1, "norm weights near 1");
            assertEquals(1.0 / 32, qVar, 0.01, "linear weights N(0, 1/in)");
        }
    }

    @Test
    void bertFolderUsesHuggingFaceBertNames(@TempDir Path tmp) throws Exception {
        TinyModels.write(tmp, TinySpec.bert());
        JsonNode config = JSON.readTree(tmp.resolve("config.json").toFile());
        assertEquals("bert", config.get("model_type").asText());
        assertEquals(32, config.get("hidden_size").intValue());
        try (var ckpt = SafetensorsCheckpoint.open(tmp)) {
            assertArrayEquals(new long[] {96, 32}, ckpt.info("embeddings.word_embeddings.weight").shape());
            assertArrayEquals(new long[] {128, 32}, ckpt.info("embeddings.position_embeddings.weight").shape());
            assertArrayEquals(new long[] {2, 32}, ckpt.info("embeddings.token_type_embeddings.weight").shape());
            assertArrayEquals(new long[] {32}, ckpt.info("embeddings.LayerNorm.bias").shape());
            for (int i = 0; i < 2; i++) {
                String p = "encoder.layer." + i + ".";
                assertArrayEquals(new long[] {32, 32}, ckpt.info(p + "attention.self.query.weight").shape());
                assertArrayEquals(new long[] {32}, ckpt.info(p + "attention.self.value.bias").shape());
                assertArrayEquals(new long[] {32, 32}, ckpt.info(p + "attention.output.dense.weight").shape());
                assertArrayEquals(new long[] {32}, ckpt.info(p + "attention.output.LayerNorm.weight").shape());
                assertArrayEquals(new long[] {64, 32}, ckpt.info(p + "intermediate.dense.weight").shape());
                assertArrayEquals(new long[] {32, 64}, ckpt.info(p + "output.dense.weight").shape());
                assertArrayEquals(new long[] {32}, ckpt.info(p + "output.LayerNorm.bias").shape());
            }
            assertEquals(5 + 2 * 16 + 2, ckpt.tensorNames().size(), "embeddings 5, 16 per layer, pooler 2");
        }
    }

    @Test
    void huggingFaceTokenizersReadsTheLlamaTokenizer(@TempDir Path tmp) throws Exception {
        TinyModels.write(tmp, TinySpec.llama());
        List<String> vocab = TinyTokenizer.vocabulary(TinySpec.Arch.LLAMA, 96);
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(tmp.resolve("tokenizer.json"))) {
            Encoding e = tok.encode("The word, zebra!");
            long[] expected = {2, vocab.indexOf("the"), vocab.indexOf("word"), vocab.indexOf(","), 1, vocab.indexOf("!")};
            assertArrayEquals(expected, e.getIds());
            assertEquals(96, vocab.size());
        }
    }

    @Test
    void huggingFaceTokenizersReadsTheBertTokenizer(@TempDir Path tmp) throws Exception {
        TinyModels.write(tmp, TinySpec.bert());
        List<String> vocab = TinyTokenizer.vocabulary(TinySpec.Arch.BERT, 96);
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(tmp.resolve("tokenizer.json"))) {
            Encoding e = tok.encode("of and");
            assertArrayEquals(new long[] {2, vocab.indexOf("of"), vocab.indexOf("and"), 3}, e.getIds());
            assertArrayEquals(new String[] {"[CLS]", "of", "and", "[SEP]"}, e.getTokens());
        }
    }

    @Test
    void largeVocabulariesAreFilledWithNumberedWords() {
        List<String> v = TinyTokenizer.vocabulary(TinySpec.Arch.LLAMA, 1000);
        assertEquals(1000, v.size());
        assertEquals(1000, v.stream().distinct().count());
        assertEquals("w0", v.get(4 + 215));
    }

    @Test
    void invalidSpecsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> TinySpec.llama().withKvHeads(3));
        assertThrows(IllegalArgumentException.class, () -> TinySpec.bert().withTiedEmbeddings(true));
        assertThrows(IllegalArgumentException.class, () -> TinySpec.llama().withDtype(DType.I32));
        assertThrows(IllegalArgumentException.class, () -> TinySpec.llama().withSize(3, 32, 64, 2, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> TinySpec.llama().withSize(96, 30, 64, 2, 4));
        assertTrue(e.getMessage().contains("heads"), e.getMessage());
        assertNotEquals(TinySpec.llama(), TinySpec.bert());
    }
}
