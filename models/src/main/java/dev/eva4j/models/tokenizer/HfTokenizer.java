package dev.eva4j.models.tokenizer;

import dev.eva4j.spi.InvalidInputException;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A Hugging Face {@code tokenizer.json} (WordPiece, BPE, Unigram, ...) run by the Rust tokenizers library through
 * DJL ({@code ai.djl.huggingface:tokenizers}, native library bundled). Encodes batches with special tokens, truncation
 * to {@link #maxLength()} and right padding; the pad id is the file's {@code padding.pad_id}, else the id of
 * {@code [PAD]}/{@code <pad>} in the vocabulary, else 0.
 *
 * <p>Not thread-safe to close while encoding; encoding itself may run from several threads.
 */
public final class HfTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;
    private final int padId;
    private final int padTypeId;
    private final Path source;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int maxLength, int padId, int padTypeId, Path source) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.padId = padId;
        this.padTypeId = padTypeId;
        this.source = source;
    }

    /**
     * The tokenizer of a model: {@code tokenizer.json} in the model folder (or beside an ONNX file), else the one
     * {@code *tokenizer.json} there, else null.
     */
    public static Path find(Path model) throws IOException {
        Path dir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
        Path std = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(std)) return std;
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            List<Path> found = s.filter(p -> p.getFileName().toString().endsWith("tokenizer.json")).toList();
            return found.size() == 1 ? found.getFirst() : null;
        }
    }

    /**
     * Loads {@code path} (a {@code tokenizer.json} file, or a folder holding one). Texts are truncated to
     * {@code maxLength} tokens, special tokens included. A missing or unreadable file is an
     * {@link IllegalArgumentException} with a one-line message.
     */
    public static HfTokenizer load(Path path, int maxLength) throws IOException {
        if (maxLength < 2) throw new InvalidInputException("maxLength must be at least 2, got " + maxLength);
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException("tokenizer file " + file + " does not exist (expected a Hugging Face tokenizer.json)");
        }
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new InvalidInputException("tokenizer file " + file + " is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (json == null || !json.isObject() || !json.path("model").isObject()) {
            throw new InvalidInputException("tokenizer file " + file + " is not a Hugging Face tokenizer.json (no \"model\" object)");
        }
        int padId = padId(json);
        int padTypeId = json.path("padding").path("pad_type_id").asInt(0);
        HuggingFaceTokenizer tok;
        try {
            tok = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(true)
                    .optTruncation(true)
                    .optMaxLength(maxLength)
                    .optPadding(false)
                    .build();
        } catch (RuntimeException | IOException | UnsatisfiedLinkError e) {
            throw new InvalidInputException("tokenizer file " + file + " could not be loaded: " + firstLine(e.getMessage()));
        }
        return new HfTokenizer(tok, maxLength, padId, padTypeId, file);
    }

    private static int padId(JsonNode json) {
        JsonNode p = json.path("padding").path("pad_id");
        if (p.isInt()) return p.asInt();
        JsonNode vocab = json.path("model").path("vocab");
        for (String token : List.of("[PAD]", "<pad>")) {
            if (vocab.path(token).isInt()) return vocab.path(token).asInt();
        }
        return 0;
    }

    /** Encodes {@code texts} and right-pads them to the longest one. */
    public EncodedBatch encode(List<String> texts) {
        return encode(texts, 0);
    }

    /**
     * Encodes {@code texts} and right-pads them to {@code padToLength} tokens (0: to the longest text). Every text is
     * first truncated to {@link #maxLength()}; {@code padToLength} may not be below that when a text is longer.
     */
    public EncodedBatch encode(List<String> texts, int padToLength) {
        if (texts.isEmpty()) throw new InvalidInputException("nothing to encode: the list of texts is empty");
        if (padToLength < 0) throw new InvalidInputException("padToLength must be >= 0, got " + padToLength);
        Encoding[] enc = tokenizer.batchEncode(texts);
        int b = enc.length;
        int[] lengths = new int[b];
        boolean[] truncated = new boolean[b];
        int longest = 1;
        for (int i = 0; i < b; i++) {
            lengths[i] = enc[i].getIds().length;
            truncated[i] = enc[i].exceedMaxLength();
            longest = Math.max(longest, lengths[i]);
        }
        int t = padToLength == 0 ? longest : padToLength;
        if (t < longest) {
            throw new InvalidInputException("a text has " + longest + " tokens, more than padToLength " + padToLength);
        }
        int[] ids = new int[b * t];
        int[] mask = new int[b * t];
        int[] types = new int[b * t];
        for (int i = 0; i < b; i++) {
            long[] id = enc[i].getIds();
            long[] type = enc[i].getTypeIds();
            Arrays.fill(ids, i * t + id.length, (i + 1) * t, padId);
            Arrays.fill(types, i * t + id.length, (i + 1) * t, padTypeId);
            for (int j = 0; j < id.length; j++) {
                ids[i * t + j] = Math.toIntExact(id[j]);
                types[i * t + j] = (int) type[j];
                mask[i * t + j] = 1;
            }
        }
        return new EncodedBatch(b, t, ids, mask, types, lengths, truncated);
    }

    /** The tokens of one text, special tokens included, truncated to {@link #maxLength()}. */
    public List<String> tokens(String text) {
        return List.of(tokenizer.encode(text).getTokens());
    }

    public int maxLength() {
        return maxLength;
    }

    public int padId() {
        return padId;
    }

    public Path source() {
        return source;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private static String firstLine(String message) {
        if (message == null) return "unknown error";
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
