package dev.eva4j.cli;

import dev.eva4j.api.eva.Rows;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.api.tensor.DType;
import dev.eva4j.cli.bench.SyntheticActivations;
import dev.eva4j.spi.ComputeBackend;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j make-activations}: synthetic activations with a planted spectrum, in the layout
 * {@code init --activations} reads (a folder of safetensors files; one layer "layer", or {@code --layers N} layers
 * "layer.0" ... "layer.N-1", each with its own planted spectrum), for tests, benchmarks and memory measurements.
 */
@Command(name = "make-activations", mixinStandardHelpOptions = true,
        description = "Writes synthetic activations (planted spectrum) as a folder of safetensors files that "
                + "init --activations reads: one tensor 'layer' [rows, dim] per file, or with --layers N > 1 the tensors "
                + "'layer.0' ... 'layer.N-1'.")
final class MakeActivationsCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "folder to create")
    Path out;

    @Option(names = "--rows", defaultValue = "100000", description = "rows in all (default ${DEFAULT-VALUE})")
    long rows;

    @Option(names = "--dim", defaultValue = "1024", description = "features per row (default ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--files", defaultValue = "10", description = "number of files (batches) (default ${DEFAULT-VALUE})")
    int files;

    @Option(names = "--layers", defaultValue = "1", description = "layers per file, each its own planted spectrum (default ${DEFAULT-VALUE})")
    int layers;

    @Option(names = "--dtype", defaultValue = "f32", description = "f32, f16 or bf16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (files < 1 || rows < files || dim < 1 || layers < 1) {
            throw new UserException("need --files >= 1, --rows >= --files, --dim >= 1, --layers >= 1");
        }
        if (rows / files * (long) dim > Integer.MAX_VALUE / 2) throw new UserException("too many rows per file: raise --files");
        DType type = FloatTypes.parse(dtype);
        if (Files.exists(out)) throw new UserException(out + " already exists");
        ComputeBackend compute = Providers.of(null).compute();
        Path tmp = Files.createDirectories(out.toAbsolutePath().getParent().resolve("." + out.getFileName() + ".tmp"));
        long written = 0;
        for (int f = 0; f < files; f++) {
            int n = (int) (rows / files + (f < rows % files ? 1 : 0));
            List<TensorData> tensors = new java.util.ArrayList<>();
            StringBuilder outFeatures = new StringBuilder("{");
            for (int l = 0; l < layers; l++) {
                String name = layers == 1 ? "layer" : "layer." + l;
                try (SyntheticActivations src = new SyntheticActivations(dim, n, seed + f + 1_000_003L * l, compute)) {
                    Rows r = src.next().get("layer");
                    float[] values = r.data().asSlice(0, 4L * n * dim).toArray(ValueLayout.JAVA_FLOAT);
                    tensors.add(TensorData.ofFloats(name, type, new long[] {n, dim}, values));
                }
                outFeatures.append(l == 0 ? "" : ", ").append('"').append(name).append("\": ").append(dim);
            }
            SafetensorsWriter.write(tmp.resolve(String.format("batch-%06d.safetensors", f)), tensors,
                    Map.of("eva4j.out_features", outFeatures.append('}').toString()));
            written += n;
            spec.commandLine().getErr().printf("\r  %d/%d files, %,d rows", f + 1, files, written);
            spec.commandLine().getErr().flush();
        }
        spec.commandLine().getErr().println();
        Files.move(tmp, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        spec.commandLine().getOut().printf("wrote %,d rows x %d (%s)%s in %d file(s) to %s%n", written, dim, type,
                layers == 1 ? "" : " for each of " + layers + " layers", files, out);
        return 0;
    }
}
