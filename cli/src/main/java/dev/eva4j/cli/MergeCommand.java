package dev.eva4j.cli;

import dev.eva4j.models.hf.HfFolder;
import dev.eva4j.models.peft.AdapterMerge;
import dev.eva4j.models.peft.PeftLoraAdapter;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code eva4j merge}: a PEFT LoRA adapter merged into its base model, written as a Hugging Face checkpoint. */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Merges a PEFT LoRA adapter into its base model (W' = W + scale * B A for every adapted layer) and "
                + "writes a Hugging Face checkpoint that needs no adapter: the base's tensor names and dtype, config.json "
                + "and tokenizer files copied, a saved classification head as classifier.weight/bias with "
                + "eva4j_head.json, sharded with model.safetensors.index.json when larger than --max-shard-size.",
                "An ONNX base (e.g. all-MiniLM-L6-v2's export) is written as a float32 Hugging Face BERT folder."})
final class MergeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "the base model: a Hugging Face folder or an ONNX export")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "a PEFT LoRA adapter folder (eva4j's or PEFT's)")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the merged model folder to write (replaced atomically)")
    Path out;

    @Option(names = "--max-shard-size", defaultValue = "2GB", paramLabel = "SIZE",
            description = "largest weight file, e.g. 2GB, 500MB, 1GiB (default ${DEFAULT-VALUE})")
    String maxShardSize;

    @Option(names = "--backend", description = "compute backend of the merge arithmetic (default: best available)")
    String backendName;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        long maxShardBytes = AdapterMerge.parseSize(maxShardSize);
        if (!Files.exists(model)) throw new NoSuchFileException(model.toString());
        if (Files.exists(out) && Files.isDirectory(adapter) && Files.isSameFile(out, adapter)) {
            throw new UserException("--out " + out + " is the adapter folder; write the merged model elsewhere");
        }
        PeftLoraAdapter lora = PeftLoraAdapter.read(adapter);
        Providers providers = Providers.of(backendName);
        AdapterMerge.Result result;
        if (HfFolder.looksLike(model)) {
            result = AdapterMerge.merge(model, lora, out, maxShardBytes, providers.compute().kernels());
        } else {
            try (ModelRun run = ModelRun.open(providers.compute(), providers.all(ModelLoader.class).values(), model, null)) {
                Path files = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
                result = AdapterMerge.merge(run.model(), lora, out, maxShardBytes, files);
            }
        }
        PrintWriter o = spec.commandLine().getOut();
        o.printf("merged %d LoRA layer(s)%s into %s: %d tensors, %s, %s%n", result.mergedModules(),
                lora.head() != null ? " and a " + lora.head().numLabels() + "-label head" : "", out, result.tensors(),
                result.dtype(), result.files().size() == 1 ? result.files().getFirst()
                        : result.files().size() + " shards with model.safetensors.index.json");
        o.flush();
        return 0;
    }
}
