package dev.eva4j.spi;

/** Element types of backend {@link Buffer}s. */
public enum DType {
    /** IEEE float32: activations, weights and gradients on every production backend. */
    F32(4),
    /** IEEE float64: the reference backend's floats, and statistics. */
    F64(8),
    /** Signed 32-bit integers: token ids, positions, targets, masks. */
    I32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }
}
