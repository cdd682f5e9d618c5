package dev.eva4j.api.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eva4j.api.tensor.DType;
import dev.eva4j.api.tensor.Shapes;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/** Write-then-read preserves every tensor set: random names, dtypes, shapes (scalars, zero-size dims) and metadata. */
class SafetensorsPropertiesTest {
    private static Path dir;

    @BeforeContainer
    static void makeDir() throws IOException {
        dir = Files.createTempDirectory("eva4j-safetensors-props");
    }

    @AfterContainer
    static void removeDir() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    record Spec(String name, DType dtype, long[] shape, byte[] bytes) {
        TensorData data() {
            return TensorData.ofBytes(name, dtype, shape, bytes);
        }
    }

    @Provide
    Arbitrary<List<Spec>> tensorSets() {
        Arbitrary<String> names = Arbitraries.strings().all().ofMinLength(1).ofMaxLength(24)
                .filter(n -> !n.equals("__metadata__") && n.codePoints().noneMatch(c -> c >= 0xD800 && c <= 0xDFFF));
        Arbitrary<long[]> shapes = Arbitraries.longs().between(0, 5).array(long[].class).ofMaxSize(4);
        Arbitrary<Spec> specs = Combinators.combine(names, Arbitraries.of(DType.class), shapes, Arbitraries.randomValue(r -> r.nextLong()))
                .as((name, dtype, shape, seed) -> {
                    byte[] bytes = new byte[(int) (Shapes.numelExact(shape) * dtype.byteSize())];
                    new java.util.Random(seed).nextBytes(bytes);
                    return new Spec(name, dtype, shape, bytes);
                });
        return specs.list().ofMaxSize(8).uniqueElements(Spec::name);
    }

    @Provide
    Arbitrary<Map<String, String>> metadata() {
        Arbitrary<String> text = Arbitraries.strings().all().ofMaxLength(16)
                .filter(s -> s.codePoints().noneMatch(c -> c >= 0xD800 && c <= 0xDFFF));
        return Arbitraries.maps(text, text).ofMaxSize(4).map(LinkedHashMap::new);
    }

    @Property(tries = 300, seed = "424242")
    void writeThenReadPreservesEverything(@ForAll("tensorSets") List<Spec> specs, @ForAll("metadata") Map<String, String> metadata)
            throws IOException {
        Path file = dir.resolve("prop.safetensors");
        SafetensorsWriter.write(file, specs.stream().map(Spec::data).toList(), metadata);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(metadata, f.metadata());
            assertEquals(List.copyOf(metadata.keySet()), List.copyOf(f.metadata().keySet()));
            List<String> namesInFileOrder = new ArrayList<>();
            long offset = 0;
            for (Spec s : specs) {
                TensorInfo info = f.info(s.name());
                assertEquals(s.dtype(), info.dtype());
                assertArrayEquals(s.shape(), info.shape());
                assertEquals(offset, info.begin());
                offset = info.end();
                assertArrayEquals(s.bytes(), f.raw(s.name()).toArray(ValueLayout.JAVA_BYTE));
                namesInFileOrder.add(s.name());
            }
            assertEquals(namesInFileOrder.size(), f.tensors().size());
            // zero-size tensors may share an offset; apart from those, file order is write order
            assertEquals(specs.stream().filter(s -> s.bytes().length > 0).map(Spec::name).toList(),
                    f.tensors().stream().filter(t -> t.byteSize() > 0).map(TensorInfo::name).toList());
            assertEquals(0, f.dataStart() % 8);
        }
    }

    @Property(tries = 200, seed = "7")
    void halfFloatsWidenExactly(@ForAll short[] bits) throws IOException {
        Path file = dir.resolve("half.safetensors");
        byte[] bytes = Fixtures.le16(toInts(bits));
        SafetensorsWriter.write(file, List.of(
                TensorData.ofBytes("h", DType.F16, new long[] {bits.length}, bytes),
                TensorData.ofBytes("b", DType.BF16, new long[] {bits.length}, bytes)), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            float[] h = f.readFloats("h");
            float[] b = f.readFloats("b");
            for (int i = 0; i < bits.length; i++) {
                assertEquals(Float.floatToIntBits(Float.float16ToFloat(bits[i])), Float.floatToIntBits(h[i]));
                assertEquals(Float.floatToIntBits(Float.intBitsToFloat((bits[i] & 0xffff) << 16)), Float.floatToIntBits(b[i]));
            }
        }
    }

    @Property(tries = 200, seed = "11")
    void bf16EncodingPicksTheNearestNeighbour(@ForAll float value) {
        MemorySegment out = TensorData.ofFloats("x", DType.BF16, new long[] {1}, new float[] {value}).bytes();
        float encoded = Decode.bf16ToFloat(out.get(Decode.I16_LE, 0));
        if (Float.isNaN(value)) {
            assertEquals(Float.NaN, encoded);
            return;
        }
        // the two bf16 neighbours of value; past the largest bf16 the upper one stands for 2^128 (it encodes as infinity)
        int down = Float.floatToRawIntBits(value) & 0xffff0000;
        int up = down + 0x10000;
        double downValue = Float.intBitsToFloat(down);
        double upValue = Float.isInfinite(Float.intBitsToFloat(up)) ? Math.copySign(0x1p128, value) : Float.intBitsToFloat(up);
        double toDown = Math.abs(value - downValue);
        double toUp = Math.abs(value - upValue);
        int expected = toDown < toUp ? down : toUp < toDown ? up : ((down >>> 16) & 1) == 0 ? down : up;
        assertEquals(Integer.toHexString(expected), Integer.toHexString(Float.floatToRawIntBits(encoded)), () -> value + " -> " + encoded);
    }

    private static int[] toInts(short[] s) {
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i];
        }
        return out;
    }

}
