package dev.eva4j.models.onnx;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.hf.TensorSource;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The imported tensors (Hugging Face names) as a {@link TensorSource} for {@code BertModel.create}. */
final class OnnxTensorSource implements TensorSource {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final Map<String, OnnxTensor> tensors;

    OnnxTensorSource(Map<String, OnnxTensor> tensors) {
        this.tensors = tensors;
    }

    @Override
    public List<String> names() {
        return tensors.keySet().stream().sorted().toList();
    }

    @Override
    public Optional<long[]> shape(String name) {
        return Optional.ofNullable(tensors.get(name)).map(OnnxTensor::dims);
    }

    @Override
    public MemorySegment floats(String name, Arena arena) {
        OnnxTensor t = tensors.get(name);
        if (t == null) throw new InvalidInputException("weight " + name + " is missing");
        if (t.dataType() != OnnxTensor.FLOAT) throw new InvalidInputException("weight " + name + " is not FLOAT");
        long n = t.numel();
        MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, n); // native order
        // one bulk copy (a plain memcpy on little-endian machines, byte-swapped on others)
        MemorySegment.copy(t.bytes(), F32_LE, 0, out, ValueLayout.JAVA_FLOAT, 0, n);
        return out;
    }
}
