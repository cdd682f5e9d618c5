/**
 * Tokenizers: {@link dev.eva4j.models.tokenizer.HfTokenizer} runs a Hugging Face {@code tokenizer.json} through the
 * Rust tokenizers library (DJL, native library bundled; extracted on first use under {@code ~/.djl.ai} or
 * {@code $DJL_CACHE_DIR}) and returns right-padded {@link dev.eva4j.models.tokenizer.EncodedBatch}es.
 */
package dev.eva4j.models.tokenizer;
