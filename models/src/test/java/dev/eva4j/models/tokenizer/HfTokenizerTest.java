package dev.eva4j.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.models.Batch;
import dev.eva4j.models.MiniLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {

    @Test
    void encodesWordPieceWithSpecialTokensAndRightPadding() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(MiniLm.tokenizer(), 128)) {
            assertEquals(0, tok.padId());
            assertEquals(List.of("[CLS]", "hello", ",", "world", "!", "[SEP]"), tok.tokens("Hello, World!"));
            EncodedBatch b = tok.encode(List.of("Hello, World!", "hi"));
            assertEquals(2, b.batchSize());
            assertEquals(6, b.seqLen());
            assertArrayEquals(new int[] {101, 7592, 1010, 2088, 999, 102, 101, 7632, 102, 0, 0, 0}, b.inputIds());
            assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, b.attentionMask());
            assertArrayEquals(new int[12], b.tokenTypeIds());
            assertArrayEquals(new int[] {6, 3}, b.lengths());
            Batch batch = b.toBatch();
            assertEquals(12, batch.tokens());
            assertEquals(0, batch.tokenMask()[9]);
        }
    }

    @Test
    void truncatesToMaxLengthKeepingTheSeparatorAndPadsToAFixedLength() throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(MiniLm.dir(), 16)) { // a folder holding tokenizer.json
            String longText = "word ".repeat(100);
            EncodedBatch b = tok.encode(List.of(longText, "short"), 16);
            assertEquals(16, b.seqLen());
            assertEquals(16, b.lengths()[0]);
            assertTrue(b.truncated()[0]);
            assertFalse(b.truncated()[1]);
            assertEquals(101, b.inputIds()[0]);
            assertEquals(102, b.inputIds()[15]);
            assertEquals(3, b.lengths()[1]);
            assertEquals(0, b.attentionMask()[16 + 3]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.encode(List.of(longText), 8));
            assertTrue(e.getMessage().contains("padToLength"), e.getMessage());
        }
    }

    @Test
    void missingOrCorruptTokenizerJsonIsAOneLineError(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("tokenizer.json");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(missing, 128)), "does not exist");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(dir, 128)), "does not exist");
        Files.writeString(missing, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(missing, 128)), "not valid JSON");
        Files.writeString(missing, "[1, 2, 3]");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(missing, 128)), "no \"model\"");
        Files.writeString(missing, "{\"model\": {\"type\": \"NoSuchModel\"}}");
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(missing, 128)), "could not be loaded");
        String real = Files.readString(MiniLm.tokenizer());
        Files.writeString(missing, real.substring(0, real.length() / 2));
        assertOneLine(assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(missing, 128)), "not valid JSON");
    }

    private static void assertOneLine(IllegalArgumentException e, String expected) {
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains("tokenizer"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
