package dev.eva4j.models.data;

import java.util.List;
import java.util.Objects;

/**
 * JSONL records held in memory (e.g. one partition of a distributed data set), with the line numbers they had in
 * their file so that a bad record is reported where the user can find it. Blank lines are skipped, as in a file.
 */
public final class JsonlLines implements RecordReader {
    /** One line of the data file and its 1-based number. */
    public record Line(long number, String text) implements java.io.Serializable {
        public Line {
            Objects.requireNonNull(text, "text");
        }
    }

    private final String source;
    private final List<Line> lines;
    private int next;

    /** @param source the file name errors give */
    public JsonlLines(String source, List<Line> lines) {
        this.source = Objects.requireNonNull(source, "source");
        this.lines = List.copyOf(lines);
    }

    @Override
    public Example next() {
        while (next < lines.size()) {
            Line l = lines.get(next++);
            if (!l.text().isBlank()) return JsonlRecords.parse(source, l.number(), l.text());
        }
        return null;
    }

    @Override
    public void close() {
    }
}
