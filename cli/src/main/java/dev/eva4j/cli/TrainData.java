package dev.eva4j.cli;

import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.Example;
import dev.eva4j.models.data.JsonlReader;
import dev.eva4j.models.data.TextEncoder;
import dev.eva4j.models.train.Trainer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A JSONL file checked for a task before anything is trained or written: every record parsed once (a bad line is an
 * error naming it), records counted, class labels collected. {@code classify} needs a class {@code "label"} in every
 * record; {@code lm} trains on the text (or input_ids, with optional per-token labels) and refuses records that carry a
 * class label, which belong to {@code --task classify}.
 *
 * @param records  records in the file
 * @param maxLabel the largest class label (-1 when none; -100, ignored, does not count)
 * @param texts    whether any record is text (and needs a tokenizer)
 */
record TrainData(Path file, long records, int maxLabel, boolean texts) {

    /** Reads every record of {@code file} for {@code task}; {@code flag} names the option in messages. */
    static TrainData scan(Path file, String task, String flag) throws IOException {
        long n = 0;
        int maxLabel = -1;
        boolean texts = false;
        try (JsonlReader r = new JsonlReader(file)) {
            Example e;
            while ((e = r.next()) != null) {
                n++;
                String where = file.getFileName() + ":" + e.line();
                if (task.equals("classify")) {
                    if (e.label() == null) {
                        throw new UserException(where + ": --task classify needs {\"text\", \"label\"} records (an "
                                + "integer class per record); this one has no \"label\""
                                + (e.labels() != null ? " (per-token \"labels\" are causal-LM data: --task lm)" : ""));
                    }
                    if (e.label() != -100 && e.label() < 0) {
                        throw new UserException(where + ": \"label\" must be a class number >= 0 (or -100 to skip), got "
                                + e.label());
                    }
                    maxLabel = Math.max(maxLabel, e.label());
                } else if (e.label() != null) {
                    throw new UserException(where + ": this record carries a class \"label\", which is classification "
                            + "data (--task classify); --task lm needs {\"text\"} or {\"input_ids\", \"labels\"} records");
                }
                texts |= !e.tokenized();
            }
        }
        if (n == 0) throw new UserException(flag + " " + file + " holds no records");
        if (task.equals("classify") && maxLabel < 0) {
            throw new UserException(flag + " " + file + ": every record's label is -100 (ignored): nothing to learn from");
        }
        return new TrainData(file, n, maxLabel, texts);
    }

    /** Text records need the model's tokenizer. */
    void checkTokenizer(TextEncoder encoder, Path model, String flag) {
        if (texts && encoder == null) {
            throw new UserException(flag + " " + file + " holds {\"text\"} records, but " + model + " has no "
                    + "tokenizer.json (pre-tokenise the data as {\"input_ids\"} records)");
        }
    }

    /** Every class label must be one of the head's {@code numLabels} classes. */
    void checkLabels(int numLabels, String flag) {
        if (maxLabel >= numLabels) {
            throw new UserException(flag + " " + file + " has label " + maxLabel + ", outside [0, " + numLabels
                    + ") (--num-labels " + numLabels + ")");
        }
    }

    /** Micro-batches of one pass, a fresh reader per epoch (shuffled with {@code seed + epoch}, or in file order). */
    Trainer.Data batches(TextEncoder encoder, int batchSize, int maxLength, Long seed) {
        long perEpoch = (records + batchSize - 1) / batchSize;
        return new Trainer.Data() {
            @Override
            public BatchReader open(int epoch) throws IOException {
                return new BatchReader(file, encoder, batchSize, maxLength, false, -100, seed == null ? null : seed + epoch);
            }

            @Override
            public long batchesPerEpoch() {
                return perEpoch;
            }
        };
    }
}
