package dev.eva4j.cli;

import java.nio.file.Path;
import java.util.Optional;

/** Where the native libraries eva4j loaded live (for the C baseline of bench gemm). */
final class NativeLibraries {
    private NativeLibraries() {}

    static Optional<Path> openBlasPath() {
        return dev.eva4j.cpu.openblas.OpenBlasLibrary.libraryPath();
    }
}
