package dev.eva4j.spi;

/** Whether a GEMM operand is used as stored or transposed. */
public enum Transpose {
    NO, YES;

    public boolean on() {
        return this == YES;
    }

    public static Transpose of(boolean transposed) {
        return transposed ? YES : NO;
    }
}
