package dev.eva4j.api.safetensors;

import dev.eva4j.api.tensor.DType;
import dev.eva4j.api.tensor.Shapes;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's entry in a safetensors header.
 *
 * @param name  the tensor's name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype element type
 * @param shape dimensions, outermost first ({@code []} for a scalar), e.g. {@code [out, in]} for a linear weight
 * @param begin first byte, relative to the start of the data buffer (just after the header)
 * @param end   one past the last byte, relative to the start of the data buffer
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("tensor " + Text.quote(name) + " offsets [" + begin + ", " + end + ") are invalid");
        }
        long numel = Shapes.numelExact(shape);
        if (numel > Long.MAX_VALUE / dtype.byteSize() || numel * dtype.byteSize() != end - begin) {
            throw new IllegalArgumentException("tensor " + Text.quote(name) + " " + dtype + " " + Shapes.toString(shape)
                    + " does not fill " + (end - begin) + " bytes");
        }
    }

    /** A copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dimensions (0 for a scalar). */
    public int rank() {
        return shape.length;
    }

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long numel() {
        return Shapes.numelExact(shape);
    }

    /** Bytes the tensor occupies: {@code end - begin == numel() * dtype.byteSize()}. */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return "TensorInfo[" + name + " " + dtype + " " + Shapes.toString(shape) + " [" + begin + ", " + end + ")]";
    }
}
