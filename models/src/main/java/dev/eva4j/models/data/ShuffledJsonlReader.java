package dev.eva4j.models.data;

import dev.eva4j.spi.InvalidInputException;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A JSONL file's records in a seeded random order ({@code --shuffle}). Memory stays bounded: only each line's byte
 * offset (8 bytes a record) is kept; records are read by seeking.
 */
public final class ShuffledJsonlReader implements RecordReader {
    private final Path file;
    private final RandomAccessFile raf;
    private final long[] starts;   // byte offset of each non-blank line
    private final long[] ends;     // end offset (exclusive, before the newline)
    private final long[] lines;    // 1-based line numbers
    private final int[] order;
    private int next;

    public ShuffledJsonlReader(Path file, long seed) throws IOException {
        if (!Files.isRegularFile(file)) throw new java.nio.file.NoSuchFileException(file.toString());
        this.file = file;
        long[][] index = index(file);
        this.starts = index[0];
        this.ends = index[1];
        this.lines = index[2];
        this.order = order(starts.length, seed);
        this.raf = new RandomAccessFile(file.toFile(), "r");
    }

    /**
     * The order this reader gives a file of {@code n} non-blank records with {@code seed}: position j holds record
     * order[j] (a seeded Fisher-Yates shuffle), for anyone who must reproduce it without the file (a distributed run).
     */
    public static int[] order(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Random rnd = new Random(seed);
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static long[][] index(Path file) throws IOException {
        long[] s = new long[1024], e = new long[1024], l = new long[1024];
        int n = 0;
        long pos = 0, lineStart = 0, lineNo = 1;
        boolean blank = true;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            int b;
            while (true) {
                b = in.read();
                if (b == '\n' || b < 0) {
                    if (!blank) {
                        if (n == s.length) {
                            s = java.util.Arrays.copyOf(s, n * 2);
                            e = java.util.Arrays.copyOf(e, n * 2);
                            l = java.util.Arrays.copyOf(l, n * 2);
                        }
                        s[n] = lineStart;
                        e[n] = pos;
                        l[n] = lineNo;
                        n++;
                    }
                    if (b < 0) break;
                    pos++;
                    lineStart = pos;
                    lineNo++;
                    blank = true;
                    continue;
                }
                if (b != ' ' && b != '\t' && b != '\r') blank = false;
                pos++;
            }
        }
        return new long[][] {java.util.Arrays.copyOf(s, n), java.util.Arrays.copyOf(e, n), java.util.Arrays.copyOf(l, n)};
    }

    @Override
    public Example next() throws IOException {
        if (next >= order.length) return null;
        int i = order[next++];
        long len = ends[i] - starts[i];
        if (len > Integer.MAX_VALUE - 8) throw new InvalidInputException(file.getFileName() + ":" + lines[i] + ": line too long");
        byte[] bytes = new byte[(int) len];
        raf.seek(starts[i]);
        raf.readFully(bytes);
        return JsonlRecords.parse(file, lines[i], new String(bytes, StandardCharsets.UTF_8));
    }

    @Override
    public void close() throws IOException {
        raf.close();
    }
}
