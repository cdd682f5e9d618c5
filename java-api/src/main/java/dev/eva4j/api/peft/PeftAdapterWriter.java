package dev.eva4j.api.peft;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes an EVA result as a Hugging Face PEFT LoRA adapter folder (docs/eva.md, "Output"): {@code adapter_config.json},
 * {@code adapter_model.safetensors} (lora_A = EVA's components, lora_B = 0, float32; rank-0 layers absent) and eva4j's
 * {@code eva_report.json}. The folder appears all at once or not at all. A result holding a non-finite value (in an
 * A matrix, an alpha or an explained-variance ratio) is refused before anything is written.
 */
public final class PeftAdapterWriter {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String REPORT = "eva_report.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * What PEFT needs beyond the EVA result.
     *
     * @param reportExtras more top-level fields of eva_report.json (values Jackson can write: numbers, strings, lists,
     *                     maps, records), e.g. a distributed run's bytes per round; never overriding a standard field
     */
    public record Options(String baseModelNameOrPath, String taskType, double loraDropout, Map<String, Object> reportExtras) {
        public Options {
            reportExtras = reportExtras == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(reportExtras));
        }

        public Options(String baseModelNameOrPath, String taskType, double loraDropout) {
            this(baseModelNameOrPath, taskType, loraDropout, Map.of());
        }

        public static Options defaults() {
            return new Options(null, null, 0.0);
        }
    }

    private PeftAdapterWriter() {}

    /**
     * @throws IllegalArgumentException when every layer has rank 0, or a value to write is NaN or infinite (the
     *     message names the layer and the position)
     */
    public static void write(Path dir, EvaResult result, Options options) throws IOException {
        checkFinite(result);
        List<TensorData> tensors = new ArrayList<>();
        for (LayerResult l : result.layers()) {
            if (l.rank() == 0) continue;
            String prefix = "base_model.model." + l.layer().module();
            tensors.add(TensorData.ofFloats(prefix + ".lora_A.weight", new long[] {l.rank(), l.layer().inFeatures()}, l.a()));
            tensors.add(TensorData.ofFloats(prefix + ".lora_B.weight", new long[] {l.layer().outFeatures(), l.rank()},
                    new float[l.layer().outFeatures() * l.rank()]));
        }
        if (tensors.isEmpty()) throw new InvalidInputException("every layer has rank 0: no adapter to write");
        byte[] config = JSON.writeValueAsBytes(config(result, options));
        ObjectNode reportJson = report(result);
        for (Map.Entry<String, Object> e : options.reportExtras().entrySet()) {
            if (reportJson.has(e.getKey())) throw new IllegalArgumentException("report field '" + e.getKey() + "' is eva4j's own");
            reportJson.set(e.getKey(), JSON.valueToTree(e.getValue()));
        }
        byte[] report = JSON.writeValueAsBytes(reportJson);
        AtomicDirectory.write(dir, tmp -> {
            SafetensorsWriter.write(tmp.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
            java.nio.file.Files.write(tmp.resolve(CONFIG), config);
            java.nio.file.Files.write(tmp.resolve(REPORT), report);
        });
    }

    private static void checkFinite(EvaResult result) {
        for (LayerResult l : result.layers()) {
            String layer = "layer '" + l.layer().module() + "'";
            float[] a = l.a();
            int d = l.layer().inFeatures();
            for (int i = 0; i < a.length; i++) {
                if (!Float.isFinite(a[i])) {
                    throw new IllegalArgumentException(layer + ": lora_A holds " + a[i] + " at row " + i / d + ", column "
                            + i % d + "; refusing to write a non-finite adapter");
                }
            }
            if (!Double.isFinite(l.alpha())) throw new IllegalArgumentException(layer + ": alpha is " + l.alpha());
            for (double v : l.spectrum()) {
                if (!Double.isFinite(v)) throw new IllegalArgumentException(layer + ": an explained-variance ratio is " + v);
            }
        }
    }

    static ObjectNode config(EvaResult result, Options options) {
        EvaConfig c = result.config();
        ObjectNode n = JSON.createObjectNode();
        n.put("peft_type", "LORA");
        n.put("base_model_name_or_path", options.baseModelNameOrPath());
        n.put("task_type", options.taskType());
        n.put("r", c.r());
        number(n, "lora_alpha", c.alpha());
        n.put("lora_dropout", options.loraDropout());
        ArrayNode targets = n.putArray("target_modules");
        ObjectNode rankPattern = JSON.createObjectNode(), alphaPattern = JSON.createObjectNode();
        for (LayerResult l : result.layers()) {
            if (l.rank() == 0) continue;
            targets.add(l.layer().module());
            if (l.rank() != c.r()) rankPattern.put(l.layer().module(), l.rank());
            if (l.alpha() != c.alpha()) number(alphaPattern, l.layer().module(), l.alpha());
        }
        n.set("rank_pattern", rankPattern);
        n.set("alpha_pattern", alphaPattern);
        n.put("init_lora_weights", "eva");
        ObjectNode eva = n.putObject("eva_config");
        number(eva, "rho", c.rho());
        eva.put("tau", c.tau());
        eva.put("use_label_mask", c.useLabelMask());
        eva.put("label_mask_value", c.labelMaskValue());
        eva.put("whiten", c.whiten());
        eva.put("adjust_scaling_factors", c.adjustScalingFactors());
        n.put("bias", "none");
        n.put("fan_in_fan_out", false);
        n.put("use_rslora", false);
        n.put("use_dora", false);
        n.putNull("modules_to_save");
        n.put("inference_mode", true);
        return n;
    }

    static ObjectNode report(EvaResult result) {
        EvaConfig c = result.config();
        ObjectNode n = JSON.createObjectNode();
        n.put("steps", result.steps());
        n.put("converged", result.converged());
        ArrayNode unconverged = n.putArray("unconverged");
        result.unconverged().forEach(unconverged::add);
        n.put("rank_budget", c.r() * result.layers().size());
        n.put("total_rank", result.totalRank());
        n.put("allocator", result.allocator());
        n.put("svd", c.svd().name().toLowerCase(java.util.Locale.ROOT));
        n.put("precision", c.precision().name().toLowerCase(java.util.Locale.ROOT));
        n.put("seed", c.seed());
        EvaResult.Timings t = result.timings();
        if (t != EvaResult.Timings.NONE) {
            ObjectNode time = n.putObject("time_seconds");
            time.put("activations", round3(t.activationSeconds()));
            time.put("svd", round3(t.svdSeconds()));
            time.put("other", round3(t.otherSeconds()));
            time.put("total", round3(t.totalSeconds()));
            if (t.cpuSeconds() >= 0) time.put("process_cpu", round3(t.cpuSeconds()));
            if (t.jitSeconds() >= 0) time.put("jit_compiling", round3(t.jitSeconds()));
            if (t.stealFraction() >= 0) n.put("cpu_steal_fraction", round3(t.stealFraction()));
            if (t.peakResidentBytes() >= 0) n.put("peak_resident_bytes", t.peakResidentBytes());
        }
        ObjectNode layers = n.putObject("layers");
        for (LayerResult l : result.layers()) {
            ObjectNode o = layers.putObject(l.layer().module());
            o.put("rank", l.rank());
            number(o, "alpha", l.alpha());
            o.put("in_features", l.layer().inFeatures());
            o.put("out_features", l.layer().outFeatures());
            o.put("group", l.group());
            o.put("steps", l.steps());
            o.put("tokens", l.tokens());
            o.put("converged", l.converged());
            ArrayNode s = o.putArray("explained_variance_ratio");
            for (double v : l.spectrum()) s.add(v);
        }
        return n;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** Integral values as JSON integers (PEFT's lora_alpha is an int), others as doubles. */
    private static void number(ObjectNode n, String field, double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) n.put(field, (long) v);
        else n.put(field, v);
    }
}
