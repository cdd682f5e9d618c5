package dev.eva4j.models.data;

import java.io.IOException;

/** Records of a data file, one at a time. */
public interface RecordReader extends AutoCloseable {
    /** The next record, or null at the end. */
    Example next() throws IOException;

    @Override
    void close() throws IOException;
}
