package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eva4j.models.train.LoraSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code adapter_config.json} as PEFT's LoraConfig writes it, reduced to what a LoRA adapter's arithmetic needs. Reading
 * is strict about what would change the result (a non-LoRA {@code peft_type}, DoRA, trained biases,
 * {@code fan_in_fan_out}) and ignores the other fields PEFT writes.
 *
 * @param r             the default rank
 * @param alpha         the default lora_alpha
 * @param dropout       lora_dropout
 * @param rslora        use_rslora
 * @param targetModules {@code target_modules} as eva4j's {@code Targets} spec (names joined by commas, {@code re:REGEX},
 *                      {@code all-linear}), or null when the file has none
 * @param rankPattern   rank_pattern as written (keys are PEFT patterns), in file order
 * @param alphaPattern  alpha_pattern as written, in file order
 * @param modulesToSave modules_to_save (empty when null)
 * @param meta          base model, task type, initialisation
 */
record AdapterConfig(int r, double alpha, double dropout, boolean rslora, String targetModules,
                     Map<String, Integer> rankPattern, Map<String, Double> alphaPattern, List<String> modulesToSave,
                     PeftLoraAdapter.Meta meta) {
    static final String FILE = "adapter_config.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Reads and checks {@code dir/adapter_config.json}; every problem is one line naming the file. */
    static AdapterConfig read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(dir + ": no " + FILE + " (not a PEFT adapter folder)");
        }
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new InvalidInputException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw new InvalidInputException(file + " does not hold a JSON object");
        String where = file.toString();
        String type = text(n, "peft_type", where);
        if (type == null) throw new InvalidInputException(where + ": no peft_type (not a PEFT adapter config)");
        if (!type.equals("LORA")) {
            throw new InvalidInputException(where + ": peft_type is " + type + "; eva4j reads LORA adapters only");
        }
        refuse(n, "use_dora", where, "DoRA adapters are not supported");
        refuse(n, "fan_in_fan_out", where, "weights stored [in, out] (GPT-2's Conv1D) are not supported");
        String bias = text(n, "bias", where);
        if (bias != null && !bias.equals("none")) {
            throw new InvalidInputException(where + ": bias is \"" + bias + "\"; eva4j reads adapters with bias \"none\"");
        }
        int r = n.hasNonNull("r") ? positiveInt(n.get("r"), "r", where) : 8;
        double alpha = n.hasNonNull("lora_alpha") ? positive(n.get("lora_alpha"), "lora_alpha", where) : 8;
        double dropout = 0;
        if (n.hasNonNull("lora_dropout")) {
            JsonNode d = n.get("lora_dropout");
            if (!d.isNumber() || !(d.doubleValue() >= 0 && d.doubleValue() < 1)) {
                throw new InvalidInputException(where + ": lora_dropout must be a number in [0, 1), got " + d);
            }
            dropout = d.doubleValue();
        }
        boolean rslora = bool(n, "use_rslora", where);
        var ranks = new LinkedHashMap<String, Integer>();
        for (var e : object(n, "rank_pattern", where).entrySet()) {
            ranks.put(e.getKey(), positiveInt(e.getValue(), "rank_pattern '" + e.getKey() + "'", where));
        }
        var alphas = new LinkedHashMap<String, Double>();
        for (var e : object(n, "alpha_pattern", where).entrySet()) {
            alphas.put(e.getKey(), positive(e.getValue(), "alpha_pattern '" + e.getKey() + "'", where));
        }
        String targets = targets(n.get("target_modules"), where);
        List<String> save = new ArrayList<>();
        JsonNode m = n.get("modules_to_save");
        if (m != null && !m.isNull()) {
            if (!m.isArray()) throw new InvalidInputException(where + ": modules_to_save must be a list of names, got " + m);
            for (JsonNode x : m) {
                if (!x.isTextual()) throw new InvalidInputException(where + ": modules_to_save holds a non-name " + x);
                save.add(x.textValue());
            }
        }
        JsonNode init = n.get("init_lora_weights");
        String initName = init == null || init.isNull() ? "true" : init.isBoolean() ? String.valueOf(init.booleanValue())
                : init.isTextual() ? init.textValue() : null;
        if (initName == null) throw new InvalidInputException(where + ": init_lora_weights must be a boolean or a name, got " + init);
        var meta = new PeftLoraAdapter.Meta(text(n, "base_model_name_or_path", where), text(n, "task_type", where), initName);
        return new AdapterConfig(r, alpha, dropout, rslora, targets, ranks, alphas, save, meta);
    }

    /** target_modules as a Targets spec: a list joins with commas, a string is a regex PEFT full-matches. */
    private static String targets(JsonNode t, String where) {
        if (t == null || t.isNull()) return null;
        if (t.isTextual()) {
            String s = t.textValue();
            if (s.equals("all-linear")) return s;
            PeftPatterns.targetRegex(s, where);
            return "re:" + s;
        }
        if (!t.isArray() || t.isEmpty()) {
            throw new InvalidInputException(where + ": target_modules must be a non-empty list of names or a regex string, got " + t);
        }
        var names = new ArrayList<String>();
        for (JsonNode x : t) {
            if (!x.isTextual() || x.textValue().isBlank() || x.textValue().contains(",")) {
                throw new InvalidInputException(where + ": target_modules holds " + x + ", not a module name");
            }
            names.add(x.textValue());
        }
        return String.join(",", names);
    }

    /** The JSON PEFT's LoraConfig reads back: the adapter's settings with patterns keyed by full module paths. */
    static byte[] json(LoraSettings s, List<PeftLoraAdapter.Module> modules, String headModule, PeftLoraAdapter.Meta meta)
            throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("peft_type", "LORA");
        n.put("base_model_name_or_path", meta.baseModelNameOrPath());
        n.put("task_type", meta.taskType());
        n.put("r", s.r());
        number(n, "lora_alpha", s.alpha());
        ArrayNode targets = n.putArray("target_modules");
        ObjectNode ranks = JSON.createObjectNode(), alphas = JSON.createObjectNode();
        for (PeftLoraAdapter.Module m : modules) {
            targets.add(m.path());
            if (m.rank() != s.r()) ranks.put(m.path(), m.rank());
            double a = s.alphaOf(m.path());
            if (a != s.alpha()) number(alphas, m.path(), a);
        }
        n.set("rank_pattern", ranks);
        n.set("alpha_pattern", alphas);
        n.put("lora_dropout", s.dropout());
        n.put("use_rslora", s.rslora());
        switch (meta.initLoraWeights()) {
            case "true" -> n.put("init_lora_weights", true);
            case "false" -> n.put("init_lora_weights", false);
            default -> n.put("init_lora_weights", meta.initLoraWeights());
        }
        n.put("bias", "none");
        n.put("fan_in_fan_out", false);
        n.put("use_dora", false);
        if (headModule != null) n.putArray("modules_to_save").add(headModule);
        else n.putNull("modules_to_save");
        n.put("inference_mode", true);
        return JSON.writeValueAsBytes(n);
    }

    /** Integral values as JSON integers (PEFT's lora_alpha is an int), others as doubles. */
    private static void number(ObjectNode n, String field, double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) n.put(field, (long) v);
        else n.put(field, v);
    }

    private static String text(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new InvalidInputException(where + ": " + field + " must be a string, got " + v);
        return v.textValue();
    }

    private static boolean bool(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw new InvalidInputException(where + ": " + field + " must be true or false, got " + v);
        return v.booleanValue();
    }

    private static void refuse(JsonNode n, String field, String where, String why) {
        if (bool(n, field, where)) throw new InvalidInputException(where + ": " + field + " is true; " + why);
    }

    private static Map<String, JsonNode> object(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        var out = new LinkedHashMap<String, JsonNode>();
        if (v == null || v.isNull()) return out;
        if (!v.isObject()) throw new InvalidInputException(where + ": " + field + " must be an object, got " + v);
        for (var e : v.properties()) out.put(e.getKey(), e.getValue());
        return out;
    }

    private static int positiveInt(JsonNode v, String what, String where) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new InvalidInputException(where + ": " + what + " must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    private static double positive(JsonNode v, String what, String where) {
        if (v == null || !v.isNumber() || !(v.doubleValue() > 0) || Double.isInfinite(v.doubleValue())) {
            throw new InvalidInputException(where + ": " + what + " must be a positive number, got " + v);
        }
        return v.doubleValue();
    }
}
