package dev.eva4j.spi;

/** What a backend can do beyond the contract every backend implements; asked instead of {@code instanceof}. */
public enum Capability {
    /** Buffers are host memory: {@link Kernels#hostSegment} gives a zero-copy view. */
    HOST_MEMORY,
    /** The host linear algebra of {@link ComputeBackend} (sgemm, gesdd, syevd on host segments) runs natively. */
    NATIVE_LINEAR_ALGEBRA,
    /** Work runs on an accelerator (a GPU); host copies cost a transfer. */
    ACCELERATOR,
    /** The kernels compute in float64 ({@link Kernels#floatType()} is {@link DType#F64}): a reference, not for speed. */
    FLOAT64
}
