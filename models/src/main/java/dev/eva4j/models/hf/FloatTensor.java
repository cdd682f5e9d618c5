package dev.eva4j.models.hf;

import java.util.Arrays;
import java.util.Objects;

/** A float32 tensor on the Java heap: its shape (outermost first) and row-major values. */
public record FloatTensor(long[] shape, float[] values) {
    public FloatTensor {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(values, "values");
        shape = shape.clone();
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        if (n != values.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got "
                    + values.length);
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public static FloatTensor of(float[] values, long... shape) {
        return new FloatTensor(shape, values);
    }
}
