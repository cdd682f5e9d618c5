package dev.eva4j.api.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class DTypeTest {
    @Test
    void byteSizesAndNamesMatchTheSafetensorsSpec() {
        assertEquals(4, DType.F32.byteSize());
        assertEquals(2, DType.F16.byteSize());
        assertEquals(2, DType.BF16.byteSize());
        assertEquals(8, DType.F64.byteSize());
        assertEquals(1, DType.I8.byteSize());
        assertEquals(1, DType.U8.byteSize());
        assertEquals(1, DType.BOOL.byteSize());
        assertEquals(2, DType.I16.byteSize());
        assertEquals(4, DType.I32.byteSize());
        assertEquals(8, DType.I64.byteSize());
        for (DType t : DType.values()) {
            assertEquals(t.name(), t.safetensorsName());
            assertEquals(Optional.of(t), DType.fromSafetensorsName(t.safetensorsName()));
        }
    }

    @Test
    void unknownNamesAreEmpty() {
        assertTrue(DType.fromSafetensorsName("F8_E4M3").isEmpty());
        assertTrue(DType.fromSafetensorsName("f32").isEmpty());
        assertTrue(DType.fromSafetensorsName("").isEmpty());
    }

    @Test
    void kinds() {
        assertTrue(DType.BF16.isFloatingPoint());
        assertFalse(DType.BF16.isInteger());
        assertTrue(DType.U8.isInteger());
        assertFalse(DType.BOOL.isInteger());
        assertFalse(DType.BOOL.isFloatingPoint());
    }

    @Test
    void numelOfScalarsEmptyAndOverflowingShapes() {
        assertEquals(OptionalLong.of(1), Shapes.numel(new long[0]));
        assertEquals(OptionalLong.of(24), Shapes.numel(new long[] {2, 3, 4}));
        assertEquals(OptionalLong.of(0), Shapes.numel(new long[] {3, 0, 5}));
        assertEquals(OptionalLong.of(0), Shapes.numel(new long[] {Long.MAX_VALUE, Long.MAX_VALUE, 0}));
        assertTrue(Shapes.numel(new long[] {1L << 32, 1L << 32}).isEmpty());
        assertTrue(Shapes.numel(new long[] {1L << 31, 1L << 31, 2}).isEmpty());
        assertEquals(OptionalLong.of(1L << 62), Shapes.numel(new long[] {1L << 31, 1L << 31}));
        assertTrue(Shapes.numel(new long[] {2, -1}).isEmpty());
        assertThrows(IllegalArgumentException.class, () -> Shapes.numelExact(new long[] {-1}));
        assertEquals("[2, 3]", Shapes.toString(new long[] {2, 3}));
    }
}
