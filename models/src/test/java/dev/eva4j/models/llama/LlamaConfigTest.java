package dev.eva4j.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.models.ops.Rope;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A trimmed copy of SmolLM2-135M's config.json. */
    private static ObjectNode smolLm() throws Exception {
        return (ObjectNode) JSON.readTree("""
                {"architectures":["LlamaForCausalLM"],"attention_bias":false,"bos_token_id":0,"eos_token_id":0,
                 "hidden_act":"silu","hidden_size":576,"initializer_range":0.041666666666666664,
                 "intermediate_size":1536,"max_position_embeddings":8192,"model_type":"llama",
                 "num_attention_heads":9,"num_hidden_layers":30,"num_key_value_heads":3,"pretraining_tp":1,
                 "rms_norm_eps":1e-05,"rope_scaling":null,"rope_theta":100000,"tie_word_embeddings":true,
                 "torch_dtype":"bfloat16","use_cache":true,"vocab_size":49152}""");
    }

    private static String error(ObjectNode json) {
        var e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.parse(json));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void parsesARealLlamaConfig() throws Exception {
        LlamaConfig c = LlamaConfig.parse(smolLm());
        assertEquals("llama", c.modelType());
        assertEquals(49152, c.vocabSize());
        assertEquals(576, c.hiddenSize());
        assertEquals(1536, c.intermediateSize());
        assertEquals(30, c.numLayers());
        assertEquals(9, c.numHeads());
        assertEquals(3, c.numKvHeads());
        assertEquals(64, c.headDim(), "head_dim defaults to hidden / heads");
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(100000.0, c.ropeTheta());
        assertNull(c.ropeScaling());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.qkvBias());
        assertFalse(c.oBias());
        assertEquals(8192, c.maxPositionEmbeddings());
        assertEquals(576, c.qDim());
        assertEquals(192, c.kvDim());
    }

    @Test
    void defaults() throws Exception {
        ObjectNode j = smolLm();
        for (String f : new String[] {"num_key_value_heads", "rms_norm_eps", "rope_theta", "tie_word_embeddings",
                "attention_bias", "max_position_embeddings", "rope_scaling", "hidden_act"}) {
            j.remove(f);
        }
        LlamaConfig c = LlamaConfig.parse(j);
        assertEquals(9, c.numKvHeads());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(2048, c.maxPositionEmbeddings());
    }

    @Test
    void explicitHeadDimWins() throws Exception {
        ObjectNode j = smolLm();
        j.put("head_dim", 32);
        assertEquals(32, LlamaConfig.parse(j).headDim());
        assertEquals(9 * 32, LlamaConfig.parse(j).qDim());
    }

    @Test
    void qwen2HasQkvBiasesButNoOutputBias() throws Exception {
        ObjectNode j = smolLm();
        j.put("model_type", "qwen2");
        j.put("sliding_window", 4096);
        j.put("use_sliding_window", false);
        LlamaConfig c = LlamaConfig.parse(j);
        assertTrue(c.qkvBias());
        assertFalse(c.oBias());
    }

    @Test
    void llamaAttentionBiasCoversAllFourProjections() throws Exception {
        ObjectNode j = smolLm();
        j.put("attention_bias", true);
        LlamaConfig c = LlamaConfig.parse(j);
        assertTrue(c.qkvBias());
        assertTrue(c.oBias());
    }

    @Test
    void mistralHasNoBiases() throws Exception {
        ObjectNode j = smolLm();
        j.put("model_type", "mistral");
        j.put("attention_bias", true); // not a mistral field: ignored
        j.putNull("head_dim");
        LlamaConfig c = LlamaConfig.parse(j);
        assertFalse(c.qkvBias());
        assertEquals(64, c.headDim());
    }

    @Test
    void llama3RopeScaling() throws Exception {
        ObjectNode j = smolLm();
        j.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 32.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
        Rope.Llama3Scaling s = LlamaConfig.parse(j).ropeScaling();
        assertEquals(new Rope.Llama3Scaling(32, 1, 4, 8192), s);
        // the older spelling "type"
        ((ObjectNode) j.get("rope_scaling")).remove("rope_type");
        ((ObjectNode) j.get("rope_scaling")).put("type", "llama3");
        assertEquals(s, LlamaConfig.parse(j).ropeScaling());
    }

    @Test
    void transformersV5RopeParameters() throws Exception {
        ObjectNode j = smolLm();
        j.remove("rope_theta");
        j.remove("rope_scaling");
        j.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 500000.0);
        LlamaConfig c = LlamaConfig.parse(j);
        assertEquals(500000.0, c.ropeTheta());
        assertNull(c.ropeScaling());
    }

    @Test
    void unsupportedRopeScalingIsAOneLineError() throws Exception {
        ObjectNode j = smolLm();
        j.putObject("rope_scaling").put("type", "yarn").put("factor", 4.0);
        String m = error(j);
        assertTrue(m.contains("yarn") && m.contains("rope_scaling"), m);
    }

    @Test
    void incompleteLlama3ScalingNamesTheField() throws Exception {
        ObjectNode j = smolLm();
        j.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0);
        assertTrue(error(j).contains("rope_scaling.high_freq_factor"));
    }

    @Test
    void missingAndInvalidFieldsAreNamed() throws Exception {
        for (String f : new String[] {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                "num_attention_heads", "model_type"}) {
            ObjectNode j = smolLm();
            j.remove(f);
            String m = error(j);
            assertTrue(m.contains(f), f + ": " + m);
        }
        ObjectNode j = smolLm();
        j.put("hidden_size", "576");
        assertTrue(error(j).contains("hidden_size"));
        j = smolLm();
        j.put("num_key_value_heads", 4);
        assertTrue(error(j).contains("num_key_value_heads"));
        j = smolLm();
        j.put("num_hidden_layers", 0);
        assertTrue(error(j).contains("num_hidden_layers"));
        j = smolLm();
        j.put("hidden_act", "gelu");
        assertTrue(error(j).contains("hidden_act"));
        j = smolLm();
        j.put("model_type", "gpt2");
        assertTrue(error(j).contains("gpt2"));
        j = smolLm();
        j.put("tie_word_embeddings", "yes");
        assertTrue(error(j).contains("tie_word_embeddings"));
    }

    @Test
    void toJsonRoundTrips() throws Exception {
        ObjectNode j = smolLm();
        j.put("model_type", "qwen2");
        j.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
        LlamaConfig c = LlamaConfig.parse(j);
        assertEquals(c, LlamaConfig.parse(c.toJson()));
        LlamaConfig plain = LlamaConfig.parse(smolLm());
        assertEquals(plain, LlamaConfig.parse(plain.toJson()));
    }

    @Test
    void readNamesTheFile(@TempDir Path dir) throws Exception {
        var missing = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.read(dir));
        assertTrue(missing.getMessage().contains("config.json"), missing.getMessage());
        Files.writeString(dir.resolve("config.json"), "{not json");
        var bad = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.read(dir));
        assertTrue(bad.getMessage().contains("config.json") && !bad.getMessage().contains("\n"), bad.getMessage());
        Files.writeString(dir.resolve("config.json"), smolLm().toString());
        assertNotNull(LlamaConfig.read(dir));
        ObjectNode j = smolLm();
        j.remove("vocab_size");
        Files.writeString(dir.resolve("config.json"), j.toString());
        var field = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.read(dir));
        assertTrue(field.getMessage().contains("config.json") && field.getMessage().contains("vocab_size"), field.getMessage());
    }
}
