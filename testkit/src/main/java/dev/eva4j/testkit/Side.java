package dev.eva4j.testkit;

import dev.eva4j.spi.Kernels;

/** One side of a comparison: the backend under test or the float64 reference. */
record Side(Kernels k, boolean isReference) {}
