package dev.eva4j.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The job class for {@code spark-submit}: takes init's options (without {@code init}) and runs
 * {@code eva4j init ... --spark MASTER} with the master spark-submit was given ({@code spark.master}), unless the
 * options name one. Exit code 0 ok, 2 bad input, 1 anything else; see docs/spark.md for the JVM options.
 */
public final class EvaSparkJob {
    private EvaSparkJob() {}

    public static void main(String[] args) {
        if (System.getProperty("guice_bytecode_gen_option") == null) {
            System.setProperty("guice_bytecode_gen_option", "DISABLED");
        }
        System.exit(run(System.getProperty("spark.master"), args));
    }

    /**
     * Runs init with these options on {@code master} (null: the options must name one with --spark).
     *
     * @return the exit code
     */
    public static int run(String master, String... args) {
        List<String> a = new ArrayList<>();
        a.add("init");
        a.addAll(Arrays.asList(args));
        boolean named = a.stream().anyMatch(s -> s.equals("--spark") || s.startsWith("--spark="));
        if (!named) {
            if (master == null) {
                System.err.println("eva4j: no Spark master: run this class with spark-submit --master URL, or pass --spark MASTER");
                return 2;
            }
            a.add("--spark");
            a.add(master);
        }
        return dev.eva4j.cli.Main.run(a.toArray(String[]::new));
    }
}
