package dev.eva4j.models.hf;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Typed reads of config.json fields; every problem is a one-line {@link IllegalArgumentException} naming the file
 * (or folder) and the field.
 */
public final class ConfigJson {
    private ConfigJson() {}

    /** A required integer >= 1. */
    public static int positiveInt(JsonNode config, String field, String source) {
        JsonNode n = config.get(field);
        if (n == null || n.isNull()) throw new InvalidInputException(source + ": config.json has no " + field);
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.intValue() < 1) {
            throw new InvalidInputException(source + ": config.json field " + field + " must be a positive integer, got " + n);
        }
        return n.intValue();
    }

    /** An integer >= 1, or {@code fallback} when the field is absent or null. */
    public static int positiveInt(JsonNode config, String field, String source, int fallback) {
        JsonNode n = config.get(field);
        return n == null || n.isNull() ? fallback : positiveInt(config, field, source);
    }

    /** A number > 0, or {@code fallback} when the field is absent or null. */
    public static double positiveNumber(JsonNode config, String field, String source, double fallback) {
        JsonNode n = config.get(field);
        if (n == null || n.isNull()) return fallback;
        if (!n.isNumber() || !(n.doubleValue() > 0) || Double.isInfinite(n.doubleValue())) {
            throw new InvalidInputException(source + ": config.json field " + field + " must be a positive number, got " + n);
        }
        return n.doubleValue();
    }

    /** A string, or {@code fallback} when the field is absent or null. */
    public static String string(JsonNode config, String field, String source, String fallback) {
        JsonNode n = config.get(field);
        if (n == null || n.isNull()) return fallback;
        if (!n.isTextual()) {
            throw new InvalidInputException(source + ": config.json field " + field + " must be a string, got " + n);
        }
        return n.textValue();
    }
}
