package dev.eva4j.api.safetensors;

import dev.eva4j.api.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * Read access to named tensors: one safetensors file ({@link SafetensorsFile}) or a whole, possibly sharded,
 * checkpoint ({@link SafetensorsCheckpoint}). Every segment handed out is valid until {@link #close()}.
 *
 * <p>Element conversions: {@code readFloats}/{@code floats} widen F16 and BF16 exactly and narrow F64 to float32;
 * {@code readInts}/{@code readLongs} sign-extend I8/I16/I32 and zero-extend U8; {@code readBytes} copies I8, U8
 * and BOOL bytes as stored.
 */
public interface TensorReader extends AutoCloseable {
    /** The {@code __metadata__} string map, in file order (empty if the file has none). */
    Map<String, String> metadata();

    /** All tensor names, in the order {@link SafetensorsFile#tensors()} or the checkpoint's index lists them. */
    List<String> tensorNames();

    /** The tensor called {@code name}, or empty. */
    Optional<TensorInfo> find(String name);

    /**
     * The tensor called {@code name}.
     *
     * @throws NoSuchElementException naming the file and the closest existing name
     */
    TensorInfo info(String name);

    /**
     * The tensor's bytes as stored (little-endian), read-only, {@code info(name).byteSize()} long. For a mapped
     * file these are the file's pages: nothing is copied.
     */
    MemorySegment raw(String name);

    /** Releases the mapping(s); every segment from {@link #raw} becomes inaccessible. Idempotent. */
    @Override
    void close();

    /** Whether a tensor called {@code name} exists. */
    default boolean contains(String name) {
        return find(name).isPresent();
    }

    /**
     * The tensor's elements as float32, row-major, {@code numel} long. Accepts F32, F16, BF16, F64.
     *
     * @throws IllegalArgumentException for other types, or more elements than a Java array holds (use {@link #floats})
     */
    default float[] readFloats(String name) {
        TensorInfo t = requireType(info(name), "readFloats", DType.F32, DType.F16, DType.BF16, DType.F64);
        int n = arrayLength(t, "floats(name, arena)");
        float[] out = new float[n];
        Decode.toFloats(raw(name), t.dtype(), 0, out, 0, n);
        return out;
    }

    /**
     * The tensor's elements as float32 in native byte order, row-major, in a new segment of {@code numel * 4}
     * bytes allocated from {@code arena} (4-byte aligned). For tensors of any size. Accepts F32, F16, BF16, F64.
     */
    default MemorySegment floats(String name, Arena arena) {
        return floats(name, 0, info(name).numel(), arena);
    }

    /**
     * Elements {@code [first, first + count)} of the tensor (row-major) as float32 in native byte order, in a new
     * segment from {@code arena}; F32 little-endian data is copied, F16/BF16 widened, F64 narrowed.
     */
    default MemorySegment floats(String name, long first, long count, Arena arena) {
        TensorInfo t = requireType(info(name), "floats", DType.F32, DType.F16, DType.BF16, DType.F64);
        if (first < 0 || count < 0 || first + count > t.numel()) {
            throw new IllegalArgumentException("floats: elements [" + first + ", " + (first + count) + ") out of "
                    + t.numel() + " in '" + name + "'");
        }
        MemorySegment src = raw(name);
        MemorySegment out = arena.allocate(count * 4, 4);
        if (t.dtype() == DType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            MemorySegment.copy(src, first * 4, out, 0, count * 4);
            return out;
        }
        float[] chunk = new float[(int) Math.min(Math.max(1, count), 1 << 16)];
        for (long done = 0; done < count; done += chunk.length) {
            int n = (int) Math.min(chunk.length, count - done);
            Decode.toFloats(src, t.dtype(), first + done, chunk, 0, n);
            MemorySegment.copy(chunk, 0, out, ValueLayout.JAVA_FLOAT, done * 4, n);
        }
        return out;
    }

    /** The elements of an I8, U8, I16 or I32 tensor as ints (U8 as 0..255). */
    default int[] readInts(String name) {
        TensorInfo t = requireType(info(name), "readInts", DType.I8, DType.U8, DType.I16, DType.I32);
        int n = arrayLength(t, "raw(name)");
        MemorySegment src = raw(name);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) Decode.integerAt(src, t.dtype(), i);
        }
        return out;
    }

    /** The elements of an I8, U8, I16, I32 or I64 tensor as longs (U8 as 0..255). */
    default long[] readLongs(String name) {
        TensorInfo t = requireType(info(name), "readLongs", DType.I8, DType.U8, DType.I16, DType.I32, DType.I64);
        int n = arrayLength(t, "raw(name)");
        MemorySegment src = raw(name);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = Decode.integerAt(src, t.dtype(), i);
        }
        return out;
    }

    /** The bytes of an I8, U8 or BOOL tensor, as stored (BOOL: 0 false, 1 true). */
    default byte[] readBytes(String name) {
        TensorInfo t = requireType(info(name), "readBytes", DType.I8, DType.U8, DType.BOOL);
        arrayLength(t, "raw(name)");
        return raw(name).toArray(ValueLayout.JAVA_BYTE);
    }

    private static TensorInfo requireType(TensorInfo t, String method, DType... accepted) {
        for (DType d : accepted) {
            if (t.dtype() == d) {
                return t;
            }
        }
        throw new IllegalArgumentException("tensor " + Text.quote(t.name()) + " is " + t.dtype() + "; " + method
                + " reads " + java.util.Arrays.toString(accepted));
    }

    private static int arrayLength(TensorInfo t, String alternative) {
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor " + Text.quote(t.name()) + " has " + n
                    + " elements, too many for a Java array; use " + alternative);
        }
        return (int) n;
    }
}
