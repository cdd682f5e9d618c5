package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.peft.AtomicDirectory;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.safetensors.TensorInfo;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.bert.BertConfig;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges a LoRA adapter into its base model and writes a Hugging Face checkpoint that needs no adapter: for every
 * adapted linear layer {@code W' = W + scale * B A} (the adapter's scaling), every other tensor unchanged.
 *
 * <ul>
 *   <li>From a Hugging Face folder ({@link #merge(Path, PeftLoraAdapter, Path, long, Kernels)}): tensors keep the base
 *       checkpoint's names (a {@code bert.} prefix included), order and dtype (F32, BF16, F16: the merged weight is
 *       computed in float32 and rounded once to the base dtype); {@code config.json}, the tokenizer files and every
 *       other plain file of the folder are copied, except weights in other formats ({@code .bin}, {@code .onnx},
 *       ...), which would hold the unmerged weights.</li>
 *   <li>From a loaded model ({@link #merge(TransformerModel, PeftLoraAdapter, Path, long, Path)}), e.g. the ONNX
 *       export of all-MiniLM-L6-v2: the model's own parameters, merged in place, written as float32 under Hugging Face
 *       names with a {@code config.json} from the model's configuration.</li>
 * </ul>
 * A saved classification head is written as {@code classifier.weight} / {@code classifier.bias} (replacing a base
 * head of that name) with {@code eva4j_head.json}. The folder is written atomically and sharded with an index when
 * the weights exceed the maximum shard size. The arithmetic runs on the given backend's kernels.
 */
public final class AdapterMerge {
    private static final Logger LOG = LoggerFactory.getLogger(AdapterMerge.class);
    /** transformers' default {@code max_shard_size}, "2GB" (powers of 1000). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 2_000_000_000L;
    private static final Set<String> WEIGHT_SUFFIXES = Set.of(".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5",
            ".msgpack", ".onnx", ".onnx_data", ".gguf", ".ot", ".index.json");

    /**
     * What was written.
     *
     * @param mergedModules adapted linear layers merged
     * @param tensors       tensors in the checkpoint
     * @param files         weight files (one, or the shards)
     * @param dtype         the dtype of the merged weights
     */
    public record Result(int mergedModules, int tensors, List<String> files, DType dtype) {}

    private AdapterMerge() {}

    /** A size such as "2GB", "500MB", "1GiB" or plain bytes, as transformers reads {@code max_shard_size}. */
    public static long parseSize(String text) {
        return ShardedCheckpoint.parseSize(text);
    }

    /**
     * Merges {@code adapter} into the Hugging Face checkpoint in {@code modelDir}, writing {@code out}.
     *
     * @throws IllegalArgumentException one line: the adapter does not fit the checkpoint (modules, shapes), needs a
     *                                  residual base (PiSSA, OLoRA), or {@code out} is the model folder
     */
    public static Result merge(Path modelDir, PeftLoraAdapter adapter, Path out, long maxShardBytes, Kernels kernels)
            throws IOException {
        checkMergeable(adapter, modelDir, out);
        try (SafetensorsCheckpoint base = SafetensorsCheckpoint.open(modelDir)) {
            var linears = new ArrayList<LinearModule>();
            for (String name : base.tensorNames()) {
                TensorInfo t = base.info(name);
                if (name.endsWith(".weight") && t.rank() == 2 && t.dtype().isFloatingPoint()) {
                    linears.add(new LinearModule(name.substring(0, name.length() - 7), Math.toIntExact(t.shape()[1]),
                            Math.toIntExact(t.shape()[0])));
                }
            }
            List<Lora.Module> resolved = adapter.modules(linears);
            Map<String, Integer> merged = new HashMap<>();   // weight name -> adapter module index
            for (int i = 0; i < resolved.size(); i++) merged.put(resolved.get(i).path() + ".weight", i);
            DType dtype = base.info(resolved.getFirst().path() + ".weight").dtype();
            var planned = new ArrayList<ShardedCheckpoint.Planned>();
            for (String name : base.tensorNames()) {
                if (adapter.head() != null && isHeadTensor(name)) continue;
                TensorInfo t = base.info(name);
                Integer i = merged.get(name);
                if (i == null) {
                    planned.add(new ShardedCheckpoint.Planned(name, t.dtype(), t.shape(), arena -> TensorData.of(base, name)));
                } else {
                    PeftLoraAdapter.Module m = adapter.modules().get(i);
                    float scale = resolved.get(i).scale();
                    planned.add(new ShardedCheckpoint.Planned(name, t.dtype(), t.shape(), arena -> TensorData.ofFloats(
                            name, t.dtype(), t.shape(), mergedWeight(kernels, base.readFloats(name), m, scale))));
                }
            }
            addHead(planned, adapter, dtype);
            List<String> files = new ArrayList<>();
            AtomicDirectory.write(out, tmp -> {
                files.addAll(ShardedCheckpoint.write(tmp, planned, maxShardBytes));
                copyPlainFiles(modelDir, tmp, false);
                writeHeadFile(tmp, adapter);
            });
            return new Result(resolved.size(), planned.size(), files, dtype);
        }
    }

    /**
     * Merges {@code adapter} into a loaded model's parameters (in place: the model computes with the merged weights
     * afterwards) and writes them as a float32 Hugging Face folder, with {@code config.json} from the model's
     * configuration and the plain files of {@code filesFrom} (tokenizer files; may be null). For models that have no
     * Hugging Face checkpoint, e.g. an ONNX export. BERT and the Llama family are supported.
     */
    public static Result merge(TransformerModel model, PeftLoraAdapter adapter, Path out, long maxShardBytes,
                               Path filesFrom) throws IOException {
        checkMergeable(adapter, filesFrom, out);
        ObjectNode config = configJson(model);
        List<Lora.Module> resolved = adapter.modules(model.linears());
        ParameterBlock params = model.parameters();
        for (int i = 0; i < resolved.size(); i++) {
            Lora.Module l = resolved.get(i);
            mergeInto(model.kernels(), params.get(l.path() + ".weight"), adapter.modules().get(i), l.scale());
        }
        var planned = new ArrayList<ShardedCheckpoint.Planned>();
        for (ParameterBlock.Spec s : params.specs()) {
            if (adapter.head() != null && isHeadTensor(s.name())) continue;
            planned.add(new ShardedCheckpoint.Planned(s.name(), DType.F32, s.shape(),
                    arena -> TensorData.ofFloats(s.name(), s.shape(), params.read(s.name()))));
        }
        addHead(planned, adapter, DType.F32);
        byte[] configBytes = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(config);
        List<String> files = new ArrayList<>();
        AtomicDirectory.write(out, tmp -> {
            files.addAll(ShardedCheckpoint.write(tmp, planned, maxShardBytes));
            if (filesFrom != null) copyPlainFiles(filesFrom, tmp, true);
            Files.write(tmp.resolve("config.json"), configBytes);
            writeHeadFile(tmp, adapter);
        });
        return new Result(resolved.size(), planned.size(), files, DType.F32);
    }

    /**
     * W + scale * B A, computed on the backend: BA [out, in] = B [out, r] (A^T [in, r])^T by one GEMM, scaled, added.
     * A's transpose is a host copy of r * in values.
     */
    static float[] mergedWeight(Kernels k, float[] w, PeftLoraAdapter.Module m, float scale) {
        try (Buffer weight = k.allocateFloats(w.length)) {
            k.upload(weight, 0, w);
            mergeInto(k, weight, m, scale);
            float[] out = new float[w.length];
            k.download(weight, 0, out);
            return out;
        }
    }

    /** weight [out, in] += scale * B A on the backend. */
    static void mergeInto(Kernels k, Buffer weight, PeftLoraAdapter.Module m, float scale) {
        int out = m.out(), in = m.in(), r = m.rank();
        long n = (long) out * in;
        float[] aT = new float[in * r];                                  // A^T [in, r]
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < in; j++) aT[j * r + i] = m.a()[i * in + j];
        }
        try (Buffer b = k.allocateFloats((long) out * r); Buffer at = k.allocateFloats((long) in * r);
             Buffer ba = k.allocateFloats(n)) {
            k.upload(b, 0, m.b());
            k.upload(at, 0, aT);
            k.matmulForward(ba, b, at, null, out, r, in);                 // BA [out, in]: rows of B times columns of A
            k.scale(ba, scale, n);
            k.residualForward(weight, weight, ba, n);                     // W += scale * B A
        }
    }

    private static void checkMergeable(PeftLoraAdapter adapter, Path modelDir, Path out) throws IOException {
        if (adapter.meta().relativeToResidualBase()) {
            throw new InvalidInputException("the adapter was trained on residual base weights (init_lora_weights \""
                    + adapter.meta().initLoraWeights() + "\"); export it as a LoRA on the original weights first "
                    + "(see docs/peft-interop.md)");
        }
        if (modelDir != null && Files.exists(out) && Files.exists(modelDir)
                && Files.isSameFile(out.toAbsolutePath(), modelDir.toAbsolutePath())) {
            throw new InvalidInputException("--out " + out + " is the model folder; write the merged model elsewhere");
        }
    }

    private static boolean isHeadTensor(String name) {
        return name.equals("classifier.weight") || name.equals("classifier.bias");
    }

    private static void addHead(List<ShardedCheckpoint.Planned> planned, PeftLoraAdapter adapter, DType dtype) {
        PeftLoraAdapter.Head h = adapter.head();
        if (h == null) return;
        long[] ws = {h.numLabels(), h.hiddenSize()}, bs = {h.numLabels()};
        planned.add(new ShardedCheckpoint.Planned("classifier.weight", dtype, ws,
                arena -> TensorData.ofFloats("classifier.weight", dtype, ws, h.weight())));
        planned.add(new ShardedCheckpoint.Planned("classifier.bias", dtype, bs,
                arena -> TensorData.ofFloats("classifier.bias", dtype, bs, h.bias())));
    }

    private static void writeHeadFile(Path dir, PeftLoraAdapter adapter) throws IOException {
        PeftLoraAdapter.Head h = adapter.head();
        if (h == null) return;
        Files.write(dir.resolve(HeadFile.FILE),
                new HeadFile(PeftLoraAdapter.HEAD_MODULE, h.numLabels(), h.hiddenSize(), h.pooling()).json());
    }

    /** Copies the plain files of {@code from} (not hidden, not weights, not eva4j_head.json) into {@code to}. */
    private static void copyPlainFiles(Path from, Path to, boolean skipConfig) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                String lower = name.toLowerCase(Locale.ROOT);
                if (!Files.isRegularFile(f) || name.startsWith(".") || name.equals(HeadFile.FILE)
                        || (skipConfig && name.equals("config.json"))) {
                    continue;
                }
                if (WEIGHT_SUFFIXES.stream().anyMatch(lower::endsWith)) {
                    if (!lower.endsWith(".safetensors") && !lower.equals(ShardedCheckpoint.INDEX)) {
                        LOG.info("not copying {}: weights in another format would not hold the merge", name);
                    }
                    continue;
                }
                Files.copy(f, to.resolve(name));
            }
        }
    }

    /** config.json for a model that has none of its own (an ONNX export). */
    private static ObjectNode configJson(TransformerModel model) {
        var bert = model.as(BertModel.class);
        if (bert.isPresent()) {
            BertConfig c = bert.get().config();
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.putArray("architectures").add("BertModel");
            o.put("model_type", "bert");
            o.put("vocab_size", c.vocabSize());
            o.put("hidden_size", c.hiddenSize());
            o.put("num_hidden_layers", c.numLayers());
            o.put("num_attention_heads", c.numHeads());
            o.put("intermediate_size", c.intermediateSize());
            o.put("hidden_act", c.hiddenAct());
            o.put("max_position_embeddings", c.maxPositions());
            o.put("type_vocab_size", c.typeVocabSize());
            o.put("layer_norm_eps", c.layerNormEps());
            o.put("position_embedding_type", "absolute");
            o.put("torch_dtype", "float32");
            return o;
        }
        var llama = model.as(LlamaModel.class);
        if (llama.isPresent()) return llama.get().config().toJson().put("torch_dtype", "float32");
        throw new InvalidInputException("model type '" + model.modelType() + "' has no config.json writer; merge "
                + "its Hugging Face folder instead");
    }
}
