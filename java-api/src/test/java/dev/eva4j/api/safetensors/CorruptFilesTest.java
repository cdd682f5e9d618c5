package dev.eva4j.api.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CorruptFilesTest {
    private static final long FLIP_SEED = 20251127L;
    private static final int FLIP_ROUNDS = 3000;

    @TempDir
    Path dir;

    static Stream<CorruptFiles.Case> cases() {
        return CorruptFiles.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyRuleIsAOneLineFormatErrorNamingTheProblem(CorruptFiles.Case c) throws Exception {
        Path file = dir.resolve(c.name() + ".safetensors");
        Files.write(file, c.bytes());
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file).close());
        Fixtures.assertOneLineNaming(file, e);
        assertTrue(e.getMessage().contains(c.expected()), () -> "expected '" + c.expected() + "' in: " + e.getMessage());
        // the checkpoint API reports the same error for the same file
        var viaCheckpoint = assertThrows(SafetensorsFormatException.class, () -> SafetensorsCheckpoint.open(file).close());
        assertEquals(e.getMessage(), viaCheckpoint.getMessage());
    }

    @Test
    void theValidBaseFileOpens() throws Exception {
        Path file = dir.resolve("valid.safetensors");
        Files.write(file, CorruptFiles.valid());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(java.util.List.of("w", "ids", "b"), f.tensorNames());
            assertEquals(6, f.readFloats("w").length);
        }
    }

    @Test
    void everyTruncationIsAFormatError() throws Exception {
        byte[] valid = CorruptFiles.valid();
        for (int length = 0; length < valid.length; length++) {
            Path file = dir.resolve("cut-at-" + length + ".safetensors");
            Files.write(file, Arrays.copyOf(valid, length));
            var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file).close(), file::toString);
            Fixtures.assertOneLineNaming(file, e);
            Files.delete(file);
        }
    }

    @Test
    void randomHeaderByteChangesOnlyEverRaiseFormatErrors() {
        byte[] valid = CorruptFiles.valid();
        int headerEnd = 8 + (int) Fixtures.le64ToLong(valid);
        int[] outcomes = new int[2]; // [rejected, accepted]
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Random random = new Random(FLIP_SEED);
            Path file = dir.resolve("flipped.safetensors");
            for (int round = 0; round < FLIP_ROUNDS; round++) {
                byte[] bytes = valid.clone();
                int changes = 1 + random.nextInt(3);
                for (int i = 0; i < changes; i++) {
                    int at = random.nextInt(headerEnd);
                    bytes[at] = random.nextBoolean() ? (byte) (bytes[at] ^ (1 << random.nextInt(8))) : (byte) random.nextInt(256);
                }
                Files.write(file, bytes);
                outcomes[openAndReadEverything(file, round)]++;
            }
        });
        assertEquals(FLIP_ROUNDS, outcomes[0] + outcomes[1]);
        assertTrue(outcomes[0] > FLIP_ROUNDS / 2, () -> "only " + outcomes[0] + " of " + FLIP_ROUNDS + " mutations were rejected");
    }

    /** 0 if the file was rejected with a proper format error, 1 if it opened and every tensor could be read. */
    private static int openAndReadEverything(Path file, int round) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors()) {
                long n = switch (t.dtype()) {
                    case F32, F16, BF16, F64 -> f.readFloats(t.name()).length;
                    case I8, U8, I16, I32 -> f.readInts(t.name()).length;
                    case I64 -> f.readLongs(t.name()).length;
                    case BOOL -> f.readBytes(t.name()).length;
                };
                assertEquals(t.numel(), n);
            }
            return 1;
        } catch (SafetensorsFormatException e) {
            Fixtures.assertOneLineNaming(file, e);
            return 0;
        } catch (Exception | Error e) {
            return fail("round " + round + ": expected only SafetensorsFormatException, got " + e, e);
        }
    }
}
