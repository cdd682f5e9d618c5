package dev.eva4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.Guice;
import com.google.inject.Injector;
import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.LayerResult;
import dev.eva4j.api.eva.ProgressListener;
import dev.eva4j.api.providers.Eva4jModule;
import dev.eva4j.cli.Main;
import dev.eva4j.models.data.JsonlLines;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** {@link SparkEva} in local[2] with two attempts per task: retries, any input partitioning, bad input met by a clear error. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SparkEvaTest {
    /** Tasks failed by {@link FailOnce} (local mode runs tasks in this JVM, so a static counter sees them). */
    static final AtomicInteger INJECTED = new AtomicInteger();

    JavaSparkContext sc;
    Path model;
    List<JsonlLines.Line> mails;
    SvdBackend svd;
    RankAllocator allocator;
    final EvaConfig config = EvaConfig.builder().r(4).maxSteps(200).build();

    @BeforeAll
    void start(@TempDir Path tmp) throws IOException {
        model = tmp.resolve("tiny-llama");
        TinyModels.write(model, TinySpec.llama());
        mails = new ArrayList<>();
        try (InputStream in = Main.class.getResourceAsStream(SparkInitTest.MAILS)) {
            long n = 0;
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                mails.add(new JsonlLines.Line(++n, line));
            }
        }
        // local[2, 2]: two worker threads, and a failed task is tried a second time (local mode's default is once)
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2,2]").setAppName("eva4j test")
                .set("spark.ui.enabled", "false"));
        Injector injector = Guice.createInjector(Eva4jModule.builder().classLoader(getClass().getClassLoader()).build());
        svd = injector.getInstance(SvdBackend.class);
        allocator = injector.getInstance(RankAllocator.class);
    }

    @AfterAll
    void stop() {
        if (sc != null) sc.close();
    }

    SparkEvaSpec spec(String modelPath) {
        return SparkEvaSpec.of(modelPath, null, null, 16, 64, null, null, null, config, "mails.jsonl");
    }

    SparkEva.Outcome run(JavaRDD<JsonlLines.Line> data, SparkEvaSpec spec, TaskHook hook) throws IOException {
        return SparkEva.run(sc, data, 2, spec, config, svd, allocator, ProgressListener.NONE, () -> false, hook);
    }

    /** Fails partition 1's first attempt in round 2. */
    static final class FailOnce implements TaskHook {
        @Override
        public void beforeRound(int partition, int round, int attempt) {
            if (partition == 1 && round == 2 && attempt == 0) {
                INJECTED.incrementAndGet();
                throw new IllegalStateException("injected executor failure");
            }
        }
    }

    @Test
    void aTaskThatFailsOnceIsRetriedAndTheResultIsUnchanged() throws IOException {
        JavaRDD<JsonlLines.Line> data = sc.parallelize(mails.subList(0, 256), 2);
        SparkEva.Outcome clean = run(data, spec(model.toString()), TaskHook.NONE);
        int before = INJECTED.get();
        SparkEva.Outcome retried = run(data, spec(model.toString()), new FailOnce());
        assertEquals(before + 1, INJECTED.get(), "the fault was injected once");
        assertEquals(clean.result().steps(), retried.result().steps());
        assertEquals(clean.rounds().size(), retried.rounds().size());
        for (int i = 0; i < clean.result().layers().size(); i++) {
            LayerResult a = clean.result().layers().get(i), b = retried.result().layers().get(i);
            assertEquals(a.rank(), b.rank(), a.layer().module());
            assertEquals(a.tokens(), b.tokens());
            float[] x = a.a(), y = b.a();
            for (int j = 0; j < x.length; j++) assertEquals(x[j], y[j], 1e-4f, a.layer().module() + " [" + j + "]");
        }
        for (SparkEva.Outcome.Round r : retried.rounds()) {
            assertTrue(r.stateBytes() > 0 && r.stateBytes() < r.rawActivationBytes(), r.toString());
        }
    }

    @Test
    void emptyInputPartitionsChangeNothingAndTooManyPartitionsAreAClearError() throws IOException {
        List<JsonlLines.Line> some = mails.subList(0, 96);
        SparkEva.Outcome dense = run(sc.parallelize(some, 2), spec(model.toString()), TaskHook.NONE);
        // 96 records over 200 input partitions: most hold nothing; the run lays the records out again
        SparkEva.Outcome sparse = assertTimeoutPreemptively(Duration.ofSeconds(300),
                () -> run(sc.parallelize(some, 200), spec(model.toString()), TaskHook.NONE));
        assertEquals(dense.result().steps(), sparse.result().steps());
        for (int i = 0; i < dense.result().layers().size(); i++) {
            assertEquals(dense.result().layers().get(i).rank(), sparse.result().layers().get(i).rank());
        }
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> SparkEva.run(sc, sc.parallelize(some, 2),
                17, spec(model.toString()), config, svd, allocator, ProgressListener.NONE, () -> false, TaskHook.NONE));
        assertEquals("--partitions 17 exceeds --batch-size 16: every round's batch is split across the partitions, one "
                + "record at least each", e.getMessage());
        InvalidInputException empty = assertThrows(InvalidInputException.class, () -> run(sc.parallelize(
                List.of(new JsonlLines.Line(1, " "), new JsonlLines.Line(2, "")), 2), spec(model.toString()), TaskHook.NONE));
        assertEquals("mails.jsonl holds no records", empty.getMessage());
    }

    @Test
    void aDeeperTreeOverMorePartitionsGivesTheSameAdapter() throws IOException {
        JavaRDD<JsonlLines.Line> data = sc.parallelize(mails.subList(0, 192), 3);
        SparkEva.Outcome two = run(data, spec(model.toString()), TaskHook.NONE);
        // 8 partitions, depth 3: treeAggregate merges on the executors (a shuffle of contributions) before the driver
        SparkEva.Outcome eight = SparkEva.run(sc, data, 8, spec(model.toString()).withDepth(3), config, svd, allocator,
                ProgressListener.NONE, () -> false, TaskHook.NONE);
        assertEquals(8, eight.partitions());
        assertEquals(two.result().steps(), eight.result().steps());
        for (int i = 0; i < two.result().layers().size(); i++) {
            LayerResult a = two.result().layers().get(i), b = eight.result().layers().get(i);
            assertEquals(a.rank(), b.rank(), a.layer().module());
            float[] x = a.a(), y = b.a();
            for (int j = 0; j < x.length; j++) assertEquals(x[j], y[j], 2e-3f, a.layer().module() + " [" + j + "]");
        }
        assertTrue(eight.stateBytes() > two.stateBytes(), "more partitions send more states");
    }

    @Test
    void aModelPathTheExecutorsCannotReadIsAClearErrorNotAHang() {
        JavaRDD<JsonlLines.Line> data = sc.parallelize(mails.subList(0, 64), 2);
        String missing = model.resolveSibling("not-there").toString();
        InvalidInputException e = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> assertThrows(
                InvalidInputException.class, () -> run(data, spec(missing), TaskHook.NONE)));
        assertTrue(e.getMessage().startsWith("no such file on executor ") && e.getMessage().contains("not-there"),
                e.getMessage());
    }

    @Test
    void aBadRecordOnAnExecutorNamesItsLine() {
        List<JsonlLines.Line> lines = new ArrayList<>(mails.subList(0, 40));
        lines.set(20, new JsonlLines.Line(21, "{\"text\": unquoted}"));
        JavaRDD<JsonlLines.Line> data = sc.parallelize(lines, 2);
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> run(data, spec(model.toString()), TaskHook.NONE));
        assertTrue(e.getMessage().startsWith("mails.jsonl:21: not valid JSON"), e.getMessage());
    }
}
