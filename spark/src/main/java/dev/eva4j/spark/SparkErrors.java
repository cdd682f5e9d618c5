package dev.eva4j.spark;

import dev.eva4j.spi.InvalidInputException;
import java.util.function.Supplier;
import org.apache.spark.SparkException;

/**
 * Turns a failed Spark job back into the error an executor raised: a user error (bad input on an executor: a path
 * it cannot read, a bad record, an empty partition) becomes one {@link InvalidInputException} line, as in a single-JVM
 * run; anything else keeps Spark's exception.
 */
final class SparkErrors {
    private SparkErrors() {}

    static <T> T unwrap(Supplier<T> job) {
        try {
            return job.get();
        } catch (Exception e) { // Scala throws the checked SparkException without declaring it
            if (e instanceof SparkException s) throw translate(s);
            if (e.getCause() instanceof SparkException s) throw translate(s);
            if (e instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e);
        }
    }

    static RuntimeException translate(SparkException e) {
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof InvalidInputException u) return new InvalidInputException(u.getMessage(), e);
        }
        // the task's exception could not be shipped as an object: its class and message are in Spark's text
        String m = e.getMessage() == null ? "" : e.getMessage();
        String marker = InvalidInputException.class.getName() + ": ";
        int at = m.indexOf(marker);
        if (at >= 0) {
            String rest = m.substring(at + marker.length());
            int eol = rest.indexOf('\n');
            return new InvalidInputException(eol < 0 ? rest : rest.substring(0, eol), e);
        }
        return new IllegalStateException("the Spark job failed: " + m.lines().findFirst().orElse(e.toString()), e);
    }
}
