package dev.eva4j.spark;

import java.io.Serializable;

/**
 * Called in every task before a partition's part of a round (on the executor): for fault-injection tests and
 * instrumentation. What it throws fails the task (Spark retries it up to spark.task.maxFailures times).
 */
@FunctionalInterface
public interface TaskHook extends Serializable {
    TaskHook NONE = (partition, round, attempt) -> {};

    /**
     * @param partition the partition index
     * @param round     the round, from 1
     * @param attempt   the task's attempt number (0 for the first)
     */
    void beforeRound(int partition, int round, int attempt) throws Exception;
}
