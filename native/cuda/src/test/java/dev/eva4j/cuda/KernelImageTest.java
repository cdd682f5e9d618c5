package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.eva4j.spi.DropoutMask;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the build packed: a fatbin with sm_80 and sm_90 code and compute_90 PTX (read by eva4j's own fatbin reader and,
 * where NVIDIA's cuobjdump is installed, by it), or — for a build without nvcc — the note saying why. Also checks,
 * with nvcc where it is installed, that the kernels' dropout hash (compiled for the host from the same source) gives
 * DropoutMask's bits, so the CPU and GPU masks are identical.
 */
class KernelImageTest {
    private static final Path SOURCES = Emulator.moduleDir().resolve("src/main/cuda");

    @TempDir
    Path dir;

    private static Optional<Path> tool(String name) {
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) for (String p : path.split(":")) if (!p.isEmpty()) candidates.add(Path.of(p, name));
        candidates.add(Path.of("/usr/local/cuda/bin", name));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    private static String run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out;
    }

    @Test
    void theBuildPackedAFatbinForAmpereAndHopperWithPtxOrSaysWhyNot() {
        KernelImage image = KernelImage.load();
        if (image.fatbin().isEmpty()) {
            // a build without nvcc: the reason is what the backend reports
            assertTrue(image.reason().contains("nvcc was not found"), image.reason());
            assumeTrue(false, "this build has no fatbin: " + image.reason());
        }
        List<KernelImage.Entry> entries = KernelImage.entries(image.fatbin().orElseThrow());
        assertTrue(entries.stream().anyMatch(e -> e.kind().equals("elf") && e.arch() == 80), entries.toString());
        assertTrue(entries.stream().anyMatch(e -> e.kind().equals("elf") && e.arch() == 90), entries.toString());
        assertTrue(entries.stream().anyMatch(e -> e.kind().equals("ptx") && e.arch() == 90), entries.toString());
        assertEquals(3, entries.size(), entries.toString());
    }

    @Test
    void cuobjdumpListsSm90CodeAndPtx() throws Exception {
        KernelImage image = KernelImage.load();
        assumeTrue(image.fatbin().isPresent(), () -> "this build has no fatbin: " + image.reason());
        Optional<Path> cuobjdump = tool("cuobjdump");
        assumeTrue(cuobjdump.isPresent(), "cuobjdump is not installed (PATH, /usr/local/cuda/bin)");
        Path fatbin = dir.resolve("eva4j.fatbin");
        Files.write(fatbin, image.fatbin().orElseThrow());
        String elf = run(dir, cuobjdump.get().toString(), "--list-elf", fatbin.toString());
        assertTrue(elf.contains("sm_90"), elf);
        assertTrue(elf.contains("sm_80"), elf);
        String ptx = run(dir, cuobjdump.get().toString(), "--list-ptx", fatbin.toString());
        assertTrue(ptx.contains("sm_90") || ptx.contains("compute_90"), ptx);
    }

    @Test
    void theReaderRefusesWhatIsNotAFatbin() {
        assertThrows(IllegalArgumentException.class, () -> KernelImage.entries(new byte[64]));
        byte[] truncated = new byte[16];
        truncated[0] = 0x50;
        truncated[1] = (byte) 0xED;
        truncated[2] = 0x55;
        truncated[3] = (byte) 0xBA;
        truncated[6] = 16;
        truncated[8] = 100;   // claims 100 bytes that are not there
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelImage.entries(truncated));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void withoutNvccTheBuildScriptSucceedsAndWritesTheReason() throws Exception {
        Path out = dir.resolve("res"), report = dir.resolve("report");
        ProcessBuilder pb = new ProcessBuilder("bash", SOURCES.resolve("build.sh").toAbsolutePath().toString(),
                out.toString(), report.toString()).redirectErrorStream(true);
        pb.environment().put("EVA4J_NVCC", dir.resolve("no-such-nvcc").toString());
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), log);
        Path absent = out.resolve("dev/eva4j/cuda/" + KernelImage.ABSENT);
        assertTrue(Files.exists(absent), log);
        assertFalse(Files.exists(out.resolve("dev/eva4j/cuda/" + KernelImage.RESOURCE)), log);
        String reason = Files.readString(absent);
        assertTrue(reason.startsWith("this build has no CUDA kernels: nvcc was not found when it was built"), reason);
    }

    @Test
    void theKernelsDropoutHashIsDropoutMasksBitForBit() throws Exception {
        Optional<Path> nvcc = tool("nvcc");
        assumeTrue(nvcc.isPresent(), "nvcc is not installed: the host build of the hash cannot be checked");
        long[] seeds = {0L, 1L, 42L, -1L, 0x123456789ABCDEFL, Long.MIN_VALUE};
        long[] indices = {0L, 1L, 2L, 1000L, 65535L, 1L << 31, (1L << 32) + 7, 123456789012L};
        float[] rates = {0.1f, 0.25f, 0.3f, 0.5f, 0.9f};
        StringBuilder src = new StringBuilder("#include <cstdio>\n#include \"")
                .append(SOURCES.resolve("common.cuh").toAbsolutePath()).append("\"\nint main() {\n");
        for (long seed : seeds) {
            for (long index : indices) {
                src.append("  printf(\"%u\\n\", dropout_hash(").append(Integer.toUnsignedString(DropoutMask.seedWord(seed)))
                        .append("u, ").append(index).append("LL));\n");
                for (float p : rates) {
                    src.append("  printf(\"%a\\n\", (double) dropout_factor(")
                            .append(Integer.toUnsignedString(DropoutMask.seedWord(seed))).append("u, ")
                            .append(DropoutMask.threshold(p)).append("u, ").append(Float.toHexString(1f / (1f - p)))
                            .append("f, ").append(index).append("LL));\n");
                }
            }
        }
        src.append("  return 0;\n}\n");
        Files.writeString(dir.resolve("hash.cu"), src);
        run(dir, nvcc.get().toString(), "-std=c++17", "-o", "hash", "hash.cu");
        String[] lines = run(dir, dir.resolve("hash").toString()).strip().split("\n");
        int at = 0;
        for (long seed : seeds) {
            for (long index : indices) {
                int expected = DropoutMask.hash(DropoutMask.seedWord(seed), index);
                assertEquals(Integer.toUnsignedString(expected), lines[at++].strip(), "hash seed " + seed + " index " + index);
                for (float p : rates) {
                    double got = Double.parseDouble(lines[at++].strip().replace("0x", "0x").concat(
                            lines[at - 1].contains("p") ? "" : "p0"));
                    assertEquals(DropoutMask.factor(seed, index, p), (float) got,
                            "factor seed " + seed + " index " + index + " p " + p);
                }
            }
        }
    }
}
