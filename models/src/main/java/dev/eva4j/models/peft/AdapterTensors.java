package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.api.safetensors.SafetensorsFormatException;
import dev.eva4j.api.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tensors of {@code adapter_model.safetensors}, sorted into LoRA pairs and a saved head, under every key form PEFT
 * produces: with or without the {@code base_model.model.} prefix, with or without the adapter name
 * ({@code <module>.lora_A.weight} as {@code save_pretrained} writes it, {@code <module>.lora_A.default.weight} as a raw
 * state dict has it), a head as {@code <module>.weight} / {@code .bias} or {@code <module>.modules_to_save.<name>.weight}.
 * Values are read as float32 (F32, F16, BF16 and F64 accepted). A key that is none of these is an error: eva4j does not
 * drop what it does not understand.
 *
 * @param a    module path -> lora_A [r, in] (with its shape)
 * @param b    module path -> lora_B [out, r]
 * @param head head tensors by the module listed in modules_to_save: "weight" [K, C] and optionally "bias" [K]
 */
record AdapterTensors(Map<String, Tensor> a, Map<String, Tensor> b, Map<String, Map<String, Tensor>> head) {
    static final String FILE = "adapter_model.safetensors";
    static final String PREFIX = "base_model.model.";
    private static final Pattern LORA = Pattern.compile("(.+?)\\.lora_([AB])(?:\\.([^.]+))?\\.weight");
    private static final Pattern UNSUPPORTED = Pattern.compile(".*\\.(lora_embedding_[AB]|lora_magnitude_vector)(\\..*)?");

    /** A tensor's values (row-major float32) and shape. */
    record Tensor(long[] shape, float[] values) {
        String shapeText() {
            return Arrays.toString(shape);
        }
    }

    static AdapterTensors read(Path dir, List<String> modulesToSave) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(dir + ": no " + FILE + (Files.isRegularFile(dir.resolve("adapter_model.bin"))
                    ? " (adapter_model.bin, PyTorch's pickle format, is not read; save with safe_serialization=True)" : ""));
        }
        var a = new LinkedHashMap<String, Tensor>();
        var b = new LinkedHashMap<String, Tensor>();
        var head = new LinkedHashMap<String, Map<String, Tensor>>();
        var headPatterns = new LinkedHashMap<String, Pattern>();
        for (String m : modulesToSave) {
            headPatterns.put(m, Pattern.compile("((?:.+\\.)?" + Pattern.quote(m) + ")(?:\\.modules_to_save\\.[^.]+)?\\.(weight|bias)"));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors()) {
                String key = t.name().startsWith(PREFIX) ? t.name().substring(PREFIX.length()) : t.name();
                if (!t.dtype().isFloatingPoint()) {
                    throw new InvalidInputException(file + ": tensor " + t.name() + " is " + t.dtype() + ", not a float type");
                }
                Matcher lora = LORA.matcher(key);
                if (lora.matches()) {
                    if (t.rank() != 2) {
                        throw new InvalidInputException(file + ": " + t.name() + " has shape " + Arrays.toString(t.shape())
                                + ", a LoRA matrix needs two dimensions");
                    }
                    Map<String, Tensor> into = lora.group(2).equals("A") ? a : b;
                    if (into.put(lora.group(1), new Tensor(t.shape(), f.readFloats(t.name()))) != null) {
                        throw new InvalidInputException(file + ": lora_" + lora.group(2) + " of " + lora.group(1)
                                + " is stored twice (several adapter names in one file?)");
                    }
                    continue;
                }
                if (UNSUPPORTED.matcher(key).matches()) {
                    throw new InvalidInputException(file + ": " + t.name() + " belongs to a LoRA variant eva4j does not "
                            + "read (embedding LoRA or DoRA)");
                }
                boolean saved = false;
                for (var e : headPatterns.entrySet()) {
                    Matcher h = e.getValue().matcher(key);
                    if (!h.matches()) continue;
                    var parts = head.computeIfAbsent(h.group(1), x -> new LinkedHashMap<>());
                    if (parts.put(h.group(2), new Tensor(t.shape(), f.readFloats(t.name()))) != null) {
                        throw new InvalidInputException(file + ": " + h.group(1) + "." + h.group(2) + " is stored twice");
                    }
                    saved = true;
                    break;
                }
                if (!saved) {
                    throw new InvalidInputException(file + ": tensor " + t.name() + " is neither a LoRA weight "
                            + "(<module>.lora_A/B.weight) nor part of modules_to_save " + modulesToSave);
                }
            }
        } catch (SafetensorsFormatException e) {
            throw new InvalidInputException(e.getMessage());
        }
        for (String m : a.keySet()) {
            if (!b.containsKey(m)) throw new InvalidInputException(file + ": " + m + " has lora_A but no lora_B");
        }
        for (String m : b.keySet()) {
            if (!a.containsKey(m)) throw new InvalidInputException(file + ": " + m + " has lora_B but no lora_A");
        }
        if (a.isEmpty()) throw new InvalidInputException(file + ": holds no LoRA weights (<module>.lora_A.weight)");
        return new AdapterTensors(a, b, head);
    }

    /** The module paths in file order. */
    List<String> modules() {
        return new ArrayList<>(a.keySet());
    }
}
