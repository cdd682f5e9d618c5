package dev.eva4j.api.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.api.tensor.Shapes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Parses and validates a safetensors header: the JSON object after the 8-byte length prefix. Streams the JSON (no
 * tree), so memory stays proportional to the tensors it describes, and checks everything the format requires
 * before a single tensor byte is touched.
 */
final class HeaderParser {
    /** The reference implementation's limit on the header's length. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    private static final JsonFactory JSON = new JsonFactory();

    /** A validated header: metadata in file order, tensors sorted by offset. */
    record Header(Map<String, String> metadata, List<TensorInfo> tensors) {}

    private final Path file;
    private final JsonParser p;

    private HeaderParser(Path file, JsonParser p) {
        this.file = file;
        this.p = p;
    }

    /**
     * @param json      the header bytes (length as given by the prefix, trailing spaces allowed)
     * @param dataBytes bytes in the file after the header: the data buffer the tensors must cover exactly
     */
    static Header parse(Path file, byte[] json, long dataBytes) throws SafetensorsFormatException {
        if (json.length == 0 || json[0] != '{') {
            String first = json.length == 0 ? "is empty" : String.format("starts with byte 0x%02x", json[0] & 0xff);
            throw new SafetensorsFormatException(file, "header " + first + ", not '{'");
        }
        Map<String, String> metadata;
        List<TensorInfo> tensors;
        try (JsonParser p = JSON.createParser(json)) {
            HeaderParser parser = new HeaderParser(file, p);
            var entries = new LinkedHashMap<String, TensorInfo>();
            metadata = parser.parseTop(entries, dataBytes);
            tensors = new ArrayList<>(entries.values());
        } catch (SafetensorsFormatException e) {
            throw e;
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? -1 : e.getLocation().getByteOffset();
            throw new SafetensorsFormatException(file, "header is not valid JSON: " + e.getOriginalMessage()
                    + (at >= 0 ? " (at header byte " + at + ")" : ""));
        } catch (IOException e) {
            throw new SafetensorsFormatException(file, "header is not valid JSON: " + e.getMessage());
        }
        tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        checkLayout(file, tensors, dataBytes);
        return new Header(Collections.unmodifiableMap(metadata), List.copyOf(tensors));
    }

    private Map<String, String> parseTop(Map<String, TensorInfo> entries, long dataBytes) throws IOException {
        p.nextToken(); // START_OBJECT: the first byte is '{'
        Map<String, String> metadata = null;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            p.nextToken();
            if (key.equals(METADATA_KEY)) {
                if (metadata != null) {
                    throw fail("header has " + METADATA_KEY + " twice");
                }
                metadata = parseMetadata();
            } else {
                if (entries.containsKey(key)) {
                    throw fail("tensor " + Text.quote(key) + " appears twice in the header");
                }
                entries.put(key, parseTensor(key, dataBytes));
            }
        }
        if (t != JsonToken.END_OBJECT) {
            throw fail("header is not valid JSON: unexpected " + describe(t));
        }
        JsonToken after = p.nextToken();
        if (after != null) {
            throw fail("header has " + describe(after) + " after its JSON object (only spaces may follow)");
        }
        return metadata == null ? Map.of() : metadata;
    }

    private Map<String, String> parseMetadata() throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail(METADATA_KEY + " must be an object of string values, not " + describe(p.currentToken()));
        }
        var metadata = new LinkedHashMap<String, String>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            if (v != JsonToken.VALUE_STRING) {
                throw fail(METADATA_KEY + " value for key " + Text.quote(key) + " must be a string, not " + describe(v));
            }
            if (metadata.put(key, p.getText()) != null) {
                throw fail(METADATA_KEY + " has key " + Text.quote(key) + " twice");
            }
        }
        return metadata;
    }

    private TensorInfo parseTensor(String name, long dataBytes) throws IOException {
        String q = "tensor " + Text.quote(name);
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail(q + " must be an object with dtype, shape and data_offsets, not " + describe(p.currentToken()));
        }
        DType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            boolean seen = switch (field) {
                case "dtype" -> dtype != null;
                case "shape" -> shape != null;
                case "data_offsets" -> offsets != null;
                default -> throw fail(q + " has unexpected field " + Text.quote(field));
            };
            if (seen) {
                throw fail(q + " has field " + Text.quote(field) + " twice");
            }
            switch (field) {
                case "dtype" -> {
                    if (v != JsonToken.VALUE_STRING) {
                        throw fail(q + " dtype must be a string, not " + describe(v));
                    }
                    String text = p.getText();
                    dtype = DType.fromSafetensorsName(text).orElseThrow(() -> fail(q + " has unknown dtype "
                            + Text.quote(text) + " (known: " + Arrays.toString(DType.values()) + ")"));
                }
                case "shape" -> shape = readLongs(q + " shape", Shapes.MAX_RANK);
                default -> offsets = readLongs(q + " data_offsets", 2);
            }
        }
        if (dtype == null || shape == null || offsets == null) {
            String missing = dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets";
            throw fail(q + " has no " + missing);
        }
        return checkTensor(name, dtype, shape, offsets, dataBytes);
    }

    /** Reads an array of at most {@code maxLength} non-negative integers. */
    private long[] readLongs(String what, int maxLength) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw fail(what + " must be an array of integers, not " + describe(p.currentToken()));
        }
        long[] values = new long[maxLength];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_NUMBER_INT) {
                throw fail(what + " must hold integers, not " + describe(t));
            }
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || p.getLongValue() < 0) {
                throw fail(what + " holds " + Text.quote(p.getText()) + ", not an integer in [0, 2^63)");
            }
            if (n == maxLength) {
                throw fail(what + " has more than " + maxLength + " entries");
            }
            values[n++] = p.getLongValue();
        }
        return Arrays.copyOf(values, n);
    }

    private TensorInfo checkTensor(String name, DType dtype, long[] shape, long[] offsets, long dataBytes)
            throws SafetensorsFormatException {
        String q = "tensor " + Text.quote(name);
        if (offsets.length != 2) {
            throw fail(q + " data_offsets must be [begin, end], not " + Arrays.toString(offsets));
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw fail(q + " data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end > dataBytes) {
            throw fail(q + " data_offsets [" + begin + ", " + end + ") exceed the data buffer of " + dataBytes + " bytes");
        }
        OptionalLong numel = Shapes.numel(shape);
        if (numel.isEmpty() || numel.getAsLong() > Long.MAX_VALUE / dtype.byteSize()) {
            throw fail(q + " shape " + Shapes.toString(shape) + " has too many elements");
        }
        long bytes = numel.getAsLong() * dtype.byteSize();
        if (bytes != end - begin) {
            throw fail(q + " is " + dtype + " " + Shapes.toString(shape) + " = " + bytes + " bytes, but data_offsets ["
                    + begin + ", " + end + ") hold " + (end - begin) + " bytes");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** The safetensors spec: tensors, sorted by offset, cover the data buffer from 0 to its end, no gaps, no overlaps. */
    private static void checkLayout(Path file, List<TensorInfo> sorted, long dataBytes) throws SafetensorsFormatException {
        long expected = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < expected) {
                throw new SafetensorsFormatException(file, "tensor " + Text.quote(t.name()) + " offsets " + range(t)
                        + " overlap tensor " + Text.quote(prev.name()) + " " + range(prev));
            }
            if (t.begin() > expected) {
                String where = prev == null ? "before the first tensor " + Text.quote(t.name()) + " " + range(t)
                        : "between tensor " + Text.quote(prev.name()) + " " + range(prev) + " and tensor "
                                + Text.quote(t.name()) + " " + range(t);
                throw new SafetensorsFormatException(file, "gap of " + (t.begin() - expected) + " bytes " + where
                        + " (tensors must cover the data buffer contiguously from offset 0)");
            }
            expected = t.end();
            prev = t;
        }
        if (expected != dataBytes) {
            throw new SafetensorsFormatException(file, (dataBytes - expected) + " trailing bytes after the last tensor"
                    + " (data buffer is " + dataBytes + " bytes, tensors end at " + expected + ")");
        }
    }

    private static String range(TensorInfo t) {
        return "[" + t.begin() + ", " + t.end() + ")";
    }

    private SafetensorsFormatException fail(String problem) {
        return new SafetensorsFormatException(file, problem);
    }

    private String describe(JsonToken t) throws IOException {
        if (t == null) {
            return "the end of the header";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "the string " + Text.quote(p.getText());
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "the number " + Text.quote(p.getText());
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.asString() == null ? t.name() : Text.quote(t.asString());
        };
    }
}
