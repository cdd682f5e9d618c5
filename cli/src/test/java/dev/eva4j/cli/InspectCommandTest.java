package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    @TempDir
    Path tmp;

    @Test
    void validFileSummary() throws Exception {
        Path f = tmp.resolve("ok.safetensors");
        SafetensorsWriter.write(f, List.of(TensorData.ofFloats("a.weight", new long[] {2, 3}, new float[6]),
                TensorData.ofFloats("b", new long[] {4}, new float[4])), Map.of("format", "pt"));
        CliRun run = CliRun.of("inspect", f.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("a.weight") && run.out().contains("[2, 3]") && run.out().contains("format = pt"));
        assertTrue(run.out().contains("2 tensor(s), 10 parameters"), run.out());
    }

    @Test
    void truncatedOrLyingFilesAreOneLineExitTwo() throws Exception {
        Path f = tmp.resolve("ok.safetensors");
        SafetensorsWriter.write(f, List.of(TensorData.ofFloats("a", new long[] {8}, new float[8])), Map.of());
        byte[] bytes = Files.readAllBytes(f);
        Path truncated = Files.write(tmp.resolve("truncated.safetensors"), Arrays.copyOf(bytes, bytes.length - 3));
        String header = new String(bytes, 8, bytes.length - 8 - 32, java.nio.charset.StandardCharsets.ISO_8859_1);
        Path lying = Files.write(tmp.resolve("lying.safetensors"),
                (new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).replace("[8]", "[9]"))
                        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertTrue(header.contains("[8]"), header);
        for (Path bad : List.of(truncated, lying, tmp.resolve("missing.safetensors"))) {
            CliRun run = CliRun.of("inspect", bad.toString());
            assertEquals(2, run.exit(), bad + ": " + run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertTrue(run.err().startsWith("eva4j inspect: "), run.err());
            assertFalse(run.err().contains("Exception"), run.err());
        }
    }
}
