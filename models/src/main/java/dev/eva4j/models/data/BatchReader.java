package dev.eva4j.models.data;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.Batch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Consecutive JSONL records in file order (or a seeded shuffle), grouped into right-padded {@link Batch}es (the last one may be smaller).
 * Texts are tokenised with the {@link TextEncoder}; pre-tokenised records are truncated to {@code maxLength}. The EVA
 * token mask keeps real tokens, and drops label == {@code labelMaskValue} positions when label masking is on.
 */
public final class BatchReader implements AutoCloseable {
    private final String name;
    private final PassReaders passes;
    private final TextEncoder encoder;
    private final int batchSize, maxLength;
    private final boolean useLabelMask;
    private final int labelMaskValue;
    private int pass;
    private RecordReader reader;

    public BatchReader(Path file, TextEncoder encoder, int batchSize, int maxLength, boolean useLabelMask,
                       int labelMaskValue) throws IOException {
        this(file, encoder, batchSize, maxLength, useLabelMask, labelMaskValue, null);
    }

    /**
     * @param shuffleSeed null: records in file order; else a seeded random order, a new one for every pass over the
     *                    file (seed, seed + 1, ...), so runs are reproducible
     */
    public BatchReader(Path file, TextEncoder encoder, int batchSize, int maxLength, boolean useLabelMask,
                       int labelMaskValue, Long shuffleSeed) throws IOException {
        this(String.valueOf(file.getFileName()), pass -> shuffleSeed == null ? new JsonlReader(file)
                : new ShuffledJsonlReader(file, shuffleSeed + pass), encoder, batchSize, maxLength, useLabelMask,
                labelMaskValue);
    }

    /** Opens the records of one pass over the data (0 for the first, then 1, 2, ... after each rewind). */
    @FunctionalInterface
    public interface PassReaders {
        RecordReader open(int pass) throws IOException;
    }

    /**
     * Batches over records from anywhere (e.g. the lines of one partition of a distributed data set).
     *
     * @param name   where the records come from, for error messages (a file name)
     * @param passes a fresh reader for each pass
     */
    public BatchReader(String name, PassReaders passes, TextEncoder encoder, int batchSize, int maxLength,
                       boolean useLabelMask, int labelMaskValue) throws IOException {
        if (batchSize < 1) throw new InvalidInputException("--batch-size must be >= 1, got " + batchSize);
        if (maxLength < 1) throw new InvalidInputException("--max-length must be >= 1, got " + maxLength);
        this.name = name;
        this.passes = passes;
        this.encoder = encoder;
        this.batchSize = batchSize;
        this.maxLength = maxLength;
        this.useLabelMask = useLabelMask;
        this.labelMaskValue = labelMaskValue;
        this.reader = open();
    }

    private RecordReader open() throws IOException {
        return passes.open(pass);
    }

    /** The next batch, or null at the end of the file. */
    public Batch next() throws IOException {
        List<Example> examples = new ArrayList<>();
        Example e;
        while (examples.size() < batchSize && (e = reader.next()) != null) examples.add(e);
        if (examples.isEmpty()) return null;
        List<int[]> ids = new ArrayList<>(), masks = new ArrayList<>(), labels = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (Example x : examples) if (!x.tokenized()) texts.add(x.text());
        if (!texts.isEmpty() && encoder == null) {
            throw new InvalidInputException(name + ":" + examples.getFirst().line()
                    + ": a \"text\" record needs a tokenizer (the model folder has no tokenizer.json); use input_ids");
        }
        List<int[]> encoded = texts.isEmpty() ? List.of() : encoder.encode(texts, maxLength);
        int t = 0;
        boolean anyLabels = false;
        for (Example x : examples) {
            if (x.tokenized()) {
                int n = Math.min(maxLength, x.inputIds().length);
                ids.add(java.util.Arrays.copyOf(x.inputIds(), n));
                masks.add(x.attentionMask() == null ? null : java.util.Arrays.copyOf(x.attentionMask(), n));
                labels.add(x.labels() == null ? null : java.util.Arrays.copyOf(x.labels(), n));
                anyLabels |= x.labels() != null;
            } else {
                ids.add(encoded.get(t++));
                masks.add(null);
                labels.add(null);
            }
        }
        int b = examples.size(), seq = 1;
        for (int[] x : ids) seq = Math.max(seq, x.length);
        int pad = encoder == null ? 0 : encoder.padId();
        int[] inputIds = new int[b * seq], attention = new int[b * seq], lab = anyLabels ? new int[b * seq] : null;
        byte[] tokenMask = new byte[b * seq];
        java.util.Arrays.fill(inputIds, pad);
        if (lab != null) java.util.Arrays.fill(lab, labelMaskValue);
        for (int i = 0; i < b; i++) {
            int[] x = ids.get(i), m = masks.get(i), l = labels.get(i);
            for (int j = 0; j < x.length; j++) {
                int p = i * seq + j;
                inputIds[p] = x[j];
                attention[p] = m == null ? 1 : m[j];
                if (lab != null) lab[p] = l == null ? x[j] : l[j];
                boolean counts = attention[p] != 0 && !(useLabelMask && lab != null && lab[p] == labelMaskValue);
                tokenMask[p] = (byte) (counts ? 1 : 0);
            }
        }
        int[] classes = null;
        for (int i = 0; i < b; i++) {
            Integer label = examples.get(i).label();
            if (label == null) continue;
            if (classes == null) {
                classes = new int[b];
                java.util.Arrays.fill(classes, -100);
            }
            classes[i] = label;
        }
        return new Batch(b, seq, inputIds, attention, lab, tokenMask, classes);
    }

    /** Starts again from the first record. */
    public void rewind() throws IOException {
        reader.close();
        pass++;
        reader = open();
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
