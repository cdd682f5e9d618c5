/**
 * Safetensors I/O: {@link dev.eva4j.api.safetensors.SafetensorsFile} maps and strictly validates one file,
 * {@link dev.eva4j.api.safetensors.SafetensorsCheckpoint} reads a single file or a sharded Hugging Face checkpoint,
 * {@link dev.eva4j.api.safetensors.SafetensorsWriter} writes files byte-compatible with the reference implementation
 * (temporary file, then atomic rename). A file that breaks the format raises a
 * {@link dev.eva4j.api.safetensors.SafetensorsFormatException} with a one-line message naming the file and the problem.
 */
package dev.eva4j.api.safetensors;
