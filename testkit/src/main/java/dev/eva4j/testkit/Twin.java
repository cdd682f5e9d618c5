package dev.eva4j.testkit;

import dev.eva4j.spi.Buffer;

/**
 * One operand on both sides: a buffer of the backend under test and one of the reference holding the same values.
 * Each holds {@link #SLACK} elements past the {@code length} the shape needs, filled with NaN: a kernel may not read
 * them into a result (a reused buffer's tail holds anything) nor write them.
 */
final class Twin {
    static final int SLACK = 3;

    private final Side backendSide;
    private final Side referenceSide;
    private final Buffer backend;
    private final Buffer reference;
    final long length;

    Twin(Side backendSide, Side referenceSide, Buffer backend, Buffer reference, long length) {
        this.backendSide = backendSide;
        this.referenceSide = referenceSide;
        this.backend = backend;
        this.reference = reference;
        this.length = length;
    }

    /**
     * Views {@code [offset, offset + length)} of both buffers (each with {@link #SLACK} elements more, which the
     * caller keeps NaN in the parent).
     */
    Twin slice(long offset, long length) {
        return new Twin(backendSide, referenceSide, backend.slice(offset, length + SLACK),
                reference.slice(offset, length + SLACK), length);
    }

    /** This operand's buffer on {@code side}. */
    Buffer at(Side side) {
        return side.isReference() ? reference : backend;
    }

    /** The first {@code length} values of the backend's buffer, widened to double. */
    double[] backendValues() {
        double[] values = new double[Math.toIntExact(length)];
        backendSide.k().download(backend, 0, values);
        return values;
    }

    double[] referenceValues() {
        double[] values = new double[Math.toIntExact(length)];
        referenceSide.k().download(reference, 0, values);
        return values;
    }

    /** The backend's values past {@code length} (NaN unless a kernel wrote there). */
    double[] backendSlack() {
        double[] values = new double[SLACK];
        backendSide.k().download(backend, length, values);
        return values;
    }
}
