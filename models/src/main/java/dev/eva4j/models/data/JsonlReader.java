package dev.eva4j.models.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Streams a JSONL data file in file order, one record a line (see {@link JsonlRecords}); blank lines are skipped. */
public final class JsonlReader implements RecordReader {
    private final Path file;
    private final BufferedReader in;
    private long lineNumber;

    public JsonlReader(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new java.nio.file.NoSuchFileException(file.toString());
        this.file = file;
        this.in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
    }

    @Override
    public Example next() throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            lineNumber++;
            if (!line.isBlank()) return JsonlRecords.parse(file, lineNumber, line);
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
