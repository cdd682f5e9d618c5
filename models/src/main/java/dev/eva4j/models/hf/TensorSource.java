package dev.eva4j.models.hf;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.api.safetensors.TensorInfo;
import dev.eva4j.api.safetensors.TensorReader;
import dev.eva4j.models.ops.Floats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Named float32 tensors with Hugging Face names, wherever they come from: a safetensors checkpoint (F16/BF16 widened),
 * a map built in memory (tests, the ONNX importer). Models copy what they need into their own native memory.
 */
public interface TensorSource {

    /** All tensor names. */
    List<String> names();

    /** The shape of tensor {@code name}, or empty when there is none. */
    Optional<long[]> shape(String name);

    /** The values of tensor {@code name} as float32 in native byte order, in a new segment from {@code arena}. */
    MemorySegment floats(String name, Arena arena);

    default boolean contains(String name) {
        return shape(name).isPresent();
    }

    /**
     * The tensor {@code name} with exactly the shape {@code expected}, copied into {@code arena}.
     *
     * @throws IllegalArgumentException one line naming the tensor and, for a mismatch, expected and actual shape
     */
    default MemorySegment require(String name, Arena arena, long... expected) {
        long[] actual = shape(name).orElseThrow(() -> new InvalidInputException("weight " + name + " is missing"));
        if (!Arrays.equals(actual, expected)) {
            throw new InvalidInputException("weight " + name + " has shape " + Arrays.toString(actual) + ", expected "
                    + Arrays.toString(expected));
        }
        return floats(name, arena);
    }

    /** The tensors of a safetensors file or checkpoint (valid while the reader is open). */
    static TensorSource of(TensorReader reader) {
        return new TensorSource() {
            @Override
            public List<String> names() {
                return reader.tensorNames();
            }

            @Override
            public Optional<long[]> shape(String name) {
                return reader.find(name).map(TensorInfo::shape);
            }

            @Override
            public MemorySegment floats(String name, Arena arena) {
                return reader.floats(name, arena);
            }
        };
    }

    /** Tensors held in Java arrays. */
    static TensorSource of(Map<String, FloatTensor> tensors) {
        Map<String, FloatTensor> copy = Map.copyOf(tensors);
        return new TensorSource() {
            @Override
            public List<String> names() {
                return copy.keySet().stream().sorted().toList();
            }

            @Override
            public Optional<long[]> shape(String name) {
                return Optional.ofNullable(copy.get(name)).map(FloatTensor::shape);
            }

            @Override
            public MemorySegment floats(String name, Arena arena) {
                FloatTensor t = copy.get(name);
                if (t == null) throw new InvalidInputException("weight " + name + " is missing");
                return Floats.of(arena, t.values());
            }
        };
    }
}
