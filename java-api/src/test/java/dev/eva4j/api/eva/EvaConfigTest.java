package dev.eva4j.api.eva;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.spi.SvdBackend;
import org.junit.jupiter.api.Test;

class EvaConfigTest {
    @Test
    void defaultsAreTheReferences() {
        EvaConfig c = EvaConfig.defaults();
        assertEquals(16, c.r());
        assertEquals(2.0, c.rho());
        assertEquals(0.99, c.tau());
        assertEquals(-100, c.labelMaskValue());
        assertEquals(SvdBackend.Mode.LOWRANK, c.svd());
        assertEquals(32, c.components());
        assertEquals(EvaConfig.Precision.FLOAT32, c.precision());
        EvaConfig f64 = c.toBuilder().precision(EvaConfig.Precision.FLOAT64).build();
        assertEquals(EvaConfig.Precision.FLOAT64, f64.toBuilder().build().precision(), "toBuilder keeps the precision");
    }

    @Test
    void componentsRoundHalfToEvenAsPython() {
        assertEquals(2, EvaConfig.builder().r(1).rho(2.5).build().components()); // round(2.5) == 2
        assertEquals(4, EvaConfig.builder().r(1).rho(3.5).build().components()); // round(3.5) == 4
        assertEquals(12, EvaConfig.builder().r(8).rho(1.5).build().components());
    }

    @Test
    void invalidValuesNameTheField() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EvaConfig.builder().tau(1.5).build())
                .getMessage().startsWith("tau must be in [0, 1]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EvaConfig.builder().rho(0.5).build())
                .getMessage().startsWith("rho must be >= 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EvaConfig.builder().r(0).build())
                .getMessage().startsWith("r must be >= 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EvaConfig.builder().maxSteps(0).build())
                .getMessage().startsWith("max_steps must be >= 1"));
        assertThrows(IllegalArgumentException.class, () -> EvaConfig.builder().tau(Double.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> EvaConfig.builder().alpha(-1).build());
    }
}
