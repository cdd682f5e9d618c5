package dev.eva4j.models.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.peft.AtomicDirectory;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.llama.LlamaConfig;
import dev.eva4j.models.llama.LlamaTensors;
import dev.eva4j.models.ops.Rope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes random tiny models in Hugging Face format — {@code config.json}, {@code model.safetensors},
 * {@code tokenizer.json}, {@code tokenizer_config.json} — for tests, demos and benchmarks without downloads.
 *
 * <p>Weights are drawn from {@code java.util.Random(seed)} in tensor order, so a spec always gives the same files:
 * embeddings and linear weights N(0, 1/C) and N(0, 1/in) (activations keep their scale through the layers, and tied
 * logits stay O(1)), biases N(0, 0.1^2), norm weights 1 + N(0, 0.1^2), norm biases N(0, 0.1^2).
 */
public final class TinyModels {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyModels() {}

    /**
     * Writes the model described by {@code spec} into {@code dir}, all at once: the folder is built beside it and
     * then replaces it (an existing folder's content is discarded).
     */
    public static void write(Path dir, TinySpec spec) throws IOException {
        AtomicDirectory.write(dir, tmp -> {
            ObjectNode config = spec.arch() == TinySpec.Arch.LLAMA ? llamaConfigJson(spec) : bertConfigJson(spec);
            writeJson(tmp.resolve("config.json"), config);
            List<TensorData> tensors = spec.arch() == TinySpec.Arch.LLAMA ? llamaTensors(spec) : bertTensors(spec);
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            writeJson(tmp.resolve("tokenizer.json"), TinyTokenizer.tokenizerJson(spec.arch(), spec.vocabSize()));
            writeJson(tmp.resolve("tokenizer_config.json"), TinyTokenizer.tokenizerConfigJson(spec.arch()));
        });
    }

    /** The Llama-family configuration a llama spec describes (qwen2 when it asks for qwen2 biases). */
    public static LlamaConfig llamaConfig(TinySpec spec) {
        if (spec.arch() != TinySpec.Arch.LLAMA) throw new IllegalArgumentException("not a llama spec: " + spec.arch());
        Rope.Llama3Scaling scaling = spec.llama3RopeScaling() ? new Rope.Llama3Scaling(8, 1, 4, 64) : null;
        return new LlamaConfig(spec.qwen2Biases() ? "qwen2" : "llama", spec.vocabSize(), spec.hiddenSize(),
                spec.intermediateSize(), spec.layers(), spec.heads(), spec.kvHeads(), spec.hiddenSize() / spec.heads(),
                1e-5, 10000.0, scaling, spec.tiedEmbeddings(), spec.qwen2Biases(), false, spec.maxPositions());
    }

    private static ObjectNode llamaConfigJson(TinySpec spec) {
        ObjectNode o = llamaConfig(spec).toJson();
        o.put("pad_token_id", 0);
        o.put("bos_token_id", 2);
        o.put("eos_token_id", 3);
        o.put("torch_dtype", torchDtype(spec.dtype()));
        return o;
    }

    private static ObjectNode bertConfigJson(TinySpec spec) {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add("BertModel");
        o.put("model_type", "bert");
        o.put("vocab_size", spec.vocabSize());
        o.put("hidden_size", spec.hiddenSize());
        o.put("num_hidden_layers", spec.layers());
        o.put("num_attention_heads", spec.heads());
        o.put("intermediate_size", spec.intermediateSize());
        o.put("hidden_act", "gelu");
        o.put("hidden_dropout_prob", 0.1);
        o.put("attention_probs_dropout_prob", 0.1);
        o.put("max_position_embeddings", spec.maxPositions());
        o.put("type_vocab_size", 2);
        o.put("initializer_range", 0.02);
        o.put("layer_norm_eps", 1e-12);
        o.put("pad_token_id", 0);
        o.put("position_embedding_type", "absolute");
        o.put("torch_dtype", torchDtype(spec.dtype()));
        return o;
    }

    private static List<TensorData> llamaTensors(TinySpec spec) {
        var rnd = new Random(spec.seed());
        var out = new ArrayList<TensorData>();
        for (dev.eva4j.models.nn.ParameterBlock.Spec t : LlamaTensors.expected(llamaConfig(spec))) {
            String n = t.name();
            Init init = n.endsWith("layernorm.weight") || n.equals(LlamaTensors.FINAL_NORM) ? Init.NORM_WEIGHT
                    : n.endsWith(".bias") ? Init.BIAS
                    : n.equals(LlamaTensors.EMBED) ? Init.EMBEDDING : Init.LINEAR;
            out.add(tensor(n, spec.dtype(), t.shape(), init, rnd));
        }
        return out;
    }

    private static List<TensorData> bertTensors(TinySpec spec) {
        var rnd = new Random(spec.seed());
        long v = spec.vocabSize(), c = spec.hiddenSize(), in = spec.intermediateSize();
        DType d = spec.dtype();
        var out = new ArrayList<TensorData>();
        out.add(tensor("embeddings.word_embeddings.weight", d, new long[] {v, c}, Init.EMBEDDING, rnd));
        out.add(tensor("embeddings.position_embeddings.weight", d, new long[] {spec.maxPositions(), c}, Init.EMBEDDING, rnd));
        out.add(tensor("embeddings.token_type_embeddings.weight", d, new long[] {2, c}, Init.EMBEDDING, rnd));
        layerNorm(out, "embeddings.LayerNorm", d, c, rnd);
        for (int i = 0; i < spec.layers(); i++) {
            String p = "encoder.layer." + i + ".";
            linear(out, p + "attention.self.query", d, c, c, rnd);
            linear(out, p + "attention.self.key", d, c, c, rnd);
            linear(out, p + "attention.self.value", d, c, c, rnd);
            linear(out, p + "attention.output.dense", d, c, c, rnd);
            layerNorm(out, p + "attention.output.LayerNorm", d, c, rnd);
            linear(out, p + "intermediate.dense", d, in, c, rnd);
            linear(out, p + "output.dense", d, c, in, rnd);
            layerNorm(out, p + "output.LayerNorm", d, c, rnd);
        }
        linear(out, "pooler.dense", d, c, c, rnd);
        return out;
    }

    private enum Init { EMBEDDING, LINEAR, BIAS, NORM_WEIGHT }

    private static void linear(List<TensorData> out, String module, DType d, long outFeatures, long inFeatures, Random rnd) {
        out.add(tensor(module + ".weight", d, new long[] {outFeatures, inFeatures}, Init.LINEAR, rnd));
        out.add(tensor(module + ".bias", d, new long[] {outFeatures}, Init.BIAS, rnd));
    }

    private static void layerNorm(List<TensorData> out, String module, DType d, long c, Random rnd) {
        out.add(tensor(module + ".weight", d, new long[] {c}, Init.NORM_WEIGHT, rnd));
        out.add(tensor(module + ".bias", d, new long[] {c}, Init.BIAS, rnd));
    }

    private static TensorData tensor(String name, DType dtype, long[] shape, Init init, Random rnd) {
        long numel = 1;
        for (long s : shape) numel *= s;
        float[] values = new float[Math.toIntExact(numel)];
        double std = switch (init) {
            case EMBEDDING, LINEAR -> 1.0 / Math.sqrt(shape[shape.length - 1]);
            case BIAS, NORM_WEIGHT -> 0.1;
        };
        double mean = init == Init.NORM_WEIGHT ? 1.0 : 0.0;
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (mean + std * rnd.nextGaussian());
        }
        return TensorData.ofFloats(name, dtype, shape, values);
    }

    private static String torchDtype(DType d) {
        return switch (d) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
    }

    private static void writeJson(Path file, ObjectNode node) throws IOException {
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n");
    }
}
