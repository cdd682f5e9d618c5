package dev.eva4j.api.tensor;

import java.util.Optional;

/**
 * Element types of stored tensors, with their size in bytes and their name in the safetensors header.
 *
 * <p>Only the types eva4j reads are listed; a safetensors file naming another type (U16, F8_E4M3, ...) is
 * rejected by the reader with a format error.
 */
public enum DType {
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    F64(8, "F64"),
    I8(1, "I8"),
    U8(1, "U8"),
    BOOL(1, "BOOL"),
    I16(2, "I16"),
    I32(4, "I32"),
    I64(8, "I64");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The name in a safetensors header's {@code "dtype"} field, e.g. {@code "BF16"}. */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** True for F32, F16, BF16 and F64. */
    public boolean isFloatingPoint() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** True for I8, U8, I16, I32 and I64 (not BOOL). */
    public boolean isInteger() {
        return this == I8 || this == U8 || this == I16 || this == I32 || this == I64;
    }

    /** The type a safetensors header names {@code name}, or empty if eva4j does not know it (case-sensitive). */
    public static Optional<DType> fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
