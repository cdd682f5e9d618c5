package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a run stands: optimiser steps done, the epoch and the micro-batches consumed in it (the data position; the
 * order of an epoch is a function of the seed, so nothing else is needed to continue it), tokens seen, seconds spent.
 * Dropout masks are a function of the seed and the micro-batch index, so no random-generator state is kept.
 */
public record TrainState(long step, int epoch, long batchInEpoch, long tokens, double seconds) {
    static final String FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    public static TrainState start() {
        return new TrainState(0, 0, 0, 0, 0);
    }

    void write(Path dir, TrainConfig config, String task) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", step).put("epoch", epoch).put("batch_in_epoch", batchInEpoch).put("tokens", tokens)
                .put("seconds", seconds).put("task", task);
        n.set("config", JSON.valueToTree(config));
        Files.writeString(dir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    }

    static TrainState read(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) throw new InvalidInputException(dir + ": not a checkpoint (no " + FILE + ")");
        JsonNode n;
        try {
            n = JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new InvalidInputException(f + ": unreadable (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        for (String field : new String[] {"step", "epoch", "batch_in_epoch", "tokens", "seconds"}) {
            if (!n.hasNonNull(field) || !n.get(field).isNumber()) {
                throw new InvalidInputException(f + ": field \"" + field + "\" is missing or not a number");
            }
        }
        return new TrainState(n.get("step").asLong(), n.get("epoch").asInt(), n.get("batch_in_epoch").asLong(),
                n.get("tokens").asLong(), n.get("seconds").asDouble());
    }

    /** The task a checkpoint was written for. */
    static String task(Path dir) throws IOException {
        return JSON.readTree(dir.resolve(FILE).toFile()).path("task").asText("");
    }
}
