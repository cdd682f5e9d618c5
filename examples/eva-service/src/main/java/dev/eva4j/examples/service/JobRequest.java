package dev.eva4j.examples.service;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The body of {@code POST /v1/eva-jobs}. Only {@code model} and {@code data} are required; the rest default as
 * {@code eva4j init} does. Unknown fields are refused (a misspelt option should not be silently ignored).
 *
 * @param model              a Hugging Face model folder (config.json + *.safetensors) or an ONNX export, on the
 *                           service's machine
 * @param data               a JSONL file: {"text": ...} records (needs the model's tokenizer.json) or {"input_ids": [...]}
 * @param targets            PEFT target_modules: names (q_proj,v_proj), re:REGEX, or all-linear (default)
 * @param backend            compute backend name (default: the best available)
 * @param acceptUnconverged  write the adapter even when max steps passed with unconverged layers
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record JobRequest(String model, String data, String targets, Integer rank, Double alpha, Double rho, Double tau,
                         String backend, Integer batchSize, Integer maxLength, Integer maxSteps, Long seed,
                         Boolean acceptUnconverged) {
    int batchSizeOr() {
        return batchSize == null ? 16 : batchSize;
    }

    int maxLengthOr() {
        return maxLength == null ? 128 : maxLength;
    }
}
