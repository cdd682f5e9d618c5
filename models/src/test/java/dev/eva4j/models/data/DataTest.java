package dev.eva4j.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.models.Batch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataTest {
    @TempDir
    Path tmp;

    private Path records(int n) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("{\"input_ids\": [").append(i + 1).append(", ").append(i + 2).append(", ").append(i + 3)
                    .append("], \"labels\": [-100, ").append(i + 2).append(", ").append(i + 3).append("]}\n");
            if (i % 7 == 3) sb.append("\n   \n"); // blank lines are skipped
        }
        return Files.writeString(tmp.resolve("d.jsonl"), sb.toString());
    }

    private static List<Integer> firstIds(BatchReader r) throws Exception {
        List<Integer> out = new ArrayList<>();
        Batch b;
        while ((b = r.next()) != null) for (int i = 0; i < b.batchSize(); i++) out.add(b.inputIds()[i * b.seqLen()]);
        return out;
    }

    @Test
    void consecutiveRecordsInFileOrderWithLabelMask() throws Exception {
        try (BatchReader r = new BatchReader(records(10), null, 4, 8, true, -100)) {
            Batch b = r.next();
            assertEquals(4, b.batchSize());
            assertEquals(3, b.seqLen());
            assertArrayEquals(new int[] {1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6}, b.inputIds());
            assertArrayEquals(new byte[] {0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1}, b.tokenMask());
            assertEquals(List.of(5, 6, 7, 8, 9, 10), firstIds(r));
            assertNull(r.next());
            r.rewind();
            assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), firstIds(r));
        }
        try (BatchReader r = new BatchReader(records(2), null, 4, 8, false, -100)) {
            assertArrayEquals(new byte[] {1, 1, 1, 1, 1, 1}, r.next().tokenMask(), "label mask off");
        }
    }

    @Test
    void shuffleIsAPermutationSeededAndNewEachPass() throws Exception {
        Path file = records(50);
        List<Integer> first, again, secondPass;
        try (BatchReader r = new BatchReader(file, null, 8, 8, true, -100, 7L)) {
            first = firstIds(r);
            r.rewind();
            secondPass = firstIds(r);
        }
        try (BatchReader r = new BatchReader(file, null, 8, 8, true, -100, 7L)) {
            again = firstIds(r);
        }
        assertEquals(50, new HashSet<>(first).size());
        assertEquals(first, again, "same seed, same order");
        assertNotEquals(first, secondPass, "a new order for the next pass");
        List<Integer> sorted = new ArrayList<>(first);
        sorted.sort(null);
        assertNotEquals(sorted, first);
    }

    @Test
    void aBadLineNamesItsNumber() throws Exception {
        Path f = Files.writeString(tmp.resolve("bad.jsonl"), "{\"text\": \"ok\"}\n\n{\"input_ids\": [1, \"x\"]}\n");
        try (JsonlReader r = new JsonlReader(f)) {
            r.next();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::next);
            assertEquals("bad.jsonl:3: \"input_ids\"[1] is not an integer", e.getMessage());
        }
        try (ShuffledJsonlReader r = new ShuffledJsonlReader(f, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> { r.next(); r.next(); });
            assertTrue(e.getMessage().startsWith("bad.jsonl:3: "), e.getMessage());
        }
        Path notJson = Files.writeString(tmp.resolve("nj.jsonl"), "{\"text\": \"ok\"}\n{oops\n");
        try (JsonlReader r = new JsonlReader(notJson)) {
            r.next();
            assertTrue(assertThrows(IllegalArgumentException.class, r::next).getMessage().startsWith("nj.jsonl:2: not valid JSON"));
        }
    }
}
