package dev.eva4j.cli;

import dev.eva4j.api.tensor.DType;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code eva4j make-tiny-model}: a random tiny model in Hugging Face format (with a tokenizer.json), for tests. */
@Command(name = "make-tiny-model", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Writes a random tiny model (fixed seed) as a Hugging Face folder: config.json, model.safetensors, "
                + "tokenizer.json.")
final class MakeTinyModelCommand implements Callable<Integer> {
    @Option(names = "--arch", required = true, description = "llama or bert")
    String arch;

    @Option(names = "--out", required = true, description = "folder to write (must not exist)")
    Path out;

    @Option(names = "--seed", defaultValue = "42", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--kv-heads", description = "llama: key/value heads (grouped-query attention when fewer than heads)")
    Integer kvHeads;

    @Option(names = "--qwen2", description = "llama: write a qwen2 model (q/k/v biases)")
    boolean qwen2;

    @Option(names = "--tied", description = "llama: tie the output projection to the embeddings")
    boolean tied;

    @Option(names = "--rope-scaling", description = "llama: llama3 rope scaling")
    boolean ropeScaling;

    @Option(names = "--dtype", defaultValue = "f32", description = "f32, bf16 or f16 (default ${DEFAULT-VALUE})")
    String dtype;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out)) throw new UserException(out + " already exists; choose a new folder");
        TinySpec s = switch (arch.toLowerCase(Locale.ROOT)) {
            case "llama" -> TinySpec.llama();
            case "bert" -> TinySpec.bert();
            default -> throw new UserException("--arch must be llama or bert, got '" + arch + "'");
        };
        boolean llamaOnly = kvHeads != null || qwen2 || tied || ropeScaling;
        if (s.arch() == TinySpec.Arch.BERT && llamaOnly) {
            throw new UserException("--kv-heads, --qwen2, --tied and --rope-scaling apply to --arch llama only");
        }
        DType type = FloatTypes.parse(dtype);
        s = s.withSeed(seed).withDtype(type);
        if (kvHeads != null) s = s.withKvHeads(kvHeads);
        if (qwen2) s = s.withQwen2Biases(true);
        if (tied) s = s.withTiedEmbeddings(true);
        if (ropeScaling) s = s.withLlama3RopeScaling(true);
        TinyModels.write(out, s);
        spec.commandLine().getOut().printf("wrote a tiny %s model (%d layers, hidden %d, vocab %d, %s) to %s%n",
                arch.toLowerCase(Locale.ROOT), s.layers(), s.hiddenSize(), s.vocabSize(), type, out);
        return 0;
    }
}
