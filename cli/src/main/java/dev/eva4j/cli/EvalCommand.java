package dev.eva4j.cli;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.HfTextEncoder;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.peft.AdapterEvaluation;
import dev.eva4j.models.peft.HeadFile;
import dev.eva4j.models.peft.PeftLoraAdapter;
import dev.eva4j.models.tokenizer.HfTokenizer;
import dev.eva4j.spi.ModelCapability;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code eva4j eval}: loss and accuracy of a model with a PEFT LoRA adapter over a JSONL file. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluates a model with a PEFT LoRA adapter (or a merged model) on a JSONL file and prints the loss "
                + "and accuracy.",
                "classify: {\"text\", \"label\"} records; the head saved with the adapter (modules_to_save), or a merged "
                        + "folder's classifier.weight; accuracy = argmax vs label. lm (Llama family): {\"text\"} or "
                        + "{\"input_ids\", \"labels\"} records; Hugging Face's next-token loss; accuracy over the counted "
                        + "next-token positions."})
final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "a Hugging Face model folder or an ONNX export")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "a PEFT LoRA adapter folder (none: the model as it is, e.g. merged)")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "JSONL data")
    Path data;

    @Option(names = "--task", paramLabel = "TASK", description = "classify or lm (default: the adapter's task_type, else "
            + "classify when there is a head, lm for a causal LM)")
    String task;

    @Option(names = "--batch-size", defaultValue = "16", description = "records per batch (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "128", description = "tokens per record at most (default ${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--pooling", paramLabel = "MODE", description = "mean or cls, for a head whose pooling the adapter does "
            + "not record (default mean)")
    String pooling;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: the one in the model folder)")
    Path tokenizer;

    @Option(names = "--backend", description = "compute backend (default: best available; see eva4j backends)")
    String backendName;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ClassificationHead.Pooling fallback = pooling(pooling);
        if (!Files.isRegularFile(data)) throw new NoSuchFileException(data.toString());
        PeftLoraAdapter lora = adapter == null ? null : PeftLoraAdapter.read(adapter);
        if (lora != null && lora.meta().relativeToResidualBase()) {
            throw new UserException(adapter + ": the adapter was trained on residual base weights (init_lora_weights \""
                    + lora.meta().initLoraWeights() + "\"); export it as a LoRA on the original weights first");
        }
        Providers providers = Providers.of(backendName);
        try (ModelRun run = ModelRun.open(providers.compute(), providers.all(ModelLoader.class).values(), model, null)) {
            TransformerModel m = run.model();
            String t = task(m, lora);
            if (t.equals("lm") && !m.has(ModelCapability.CAUSAL_LM)) {
                throw new UserException(model + ": model type '" + m.modelType() + "' has no causal-LM head; --task lm "
                        + "needs a Llama-family model (use --task classify with {\"text\", \"label\"} data)");
            }
            Path tokFile = tokenizer != null ? tokenizer : HfTokenizer.find(model);
            if (tokFile != null && !Files.isRegularFile(tokFile)) throw new NoSuchFileException(tokFile.toString());
            try (Lora layers = lora == null ? null : new Lora(m.kernels(), lora.modules(m.linears()), 0f, 0);
                 HfTokenizer tok = tokFile == null ? null : HfTokenizer.load(tokFile, Math.max(2, maxLength));
                 BatchReader reader = new BatchReader(data, tok == null ? null : new HfTextEncoder(tok), batchSize,
                         maxLength, false, LlamaModel.IGNORE_INDEX)) {
                if (layers != null) lora.loadInto(layers);
                PrintWriter err = spec.commandLine().getErr();
                err.printf("evaluating %s (%s)%s on %s, task %s, backend %s%n", model.getFileName(), m.modelType(),
                        lora == null ? "" : " with " + lora.modules().size() + " LoRA layer(s) from " + adapter.getFileName(),
                        data.getFileName(), t, run.compute().name());
                err.flush();
                AdapterEvaluation.Result r;
                String unit;
                if (t.equals("classify")) {
                    try (ClassificationHead head = head(m, lora, fallback)) {
                        r = AdapterEvaluation.classify(m, layers, head, reader);
                    }
                    unit = "sequences";
                } else {
                    r = AdapterEvaluation.lm(m.as(LlamaModel.class).orElseThrow(), layers, reader);
                    unit = "next-token positions";
                }
                if (r.counted() == 0) throw new UserException(data + ": no record counted for " + t);
                PrintWriter o = spec.commandLine().getOut();
                o.printf(Locale.ROOT, "%s: loss %.6f, accuracy %.4f (%d of %d %s)%n", t, r.loss(), r.accuracy(),
                        r.correct(), r.counted(), unit);
                if (r.confusion() != null) {
                    o.printf(Locale.ROOT, "  macro F1 %.4f%s; confusion (rows true, columns predicted) %s%n",
                            r.macroF1(), r.confusion().length == 2 ? String.format(Locale.ROOT, ", F1 of class 1 %.4f",
                                    r.f1(1)) : "", java.util.Arrays.deepToString(r.confusion()));
                }
                o.flush();
            }
        }
        return 0;
    }

    /** --task, else the adapter's task_type, else classify when a head exists, lm for a causal LM. */
    private String task(TransformerModel m, PeftLoraAdapter lora) throws IOException {
        if (task != null) {
            String t = task.strip().toLowerCase(Locale.ROOT);
            if (!t.equals("classify") && !t.equals("lm")) throw new UserException("--task must be classify or lm, got '" + task + "'");
            return t;
        }
        if (lora != null && "SEQ_CLS".equals(lora.meta().taskType())) return "classify";
        if (lora != null && "CAUSAL_LM".equals(lora.meta().taskType())) return "lm";
        if (lora != null && lora.head() != null) return "classify";
        if (Files.isRegularFile(model.resolve(HeadFile.FILE))) return "classify";
        if (m.has(ModelCapability.CAUSAL_LM)) return "lm";
        throw new UserException("name the task with --task classify or --task lm");
    }

    /** The adapter's saved head, else a merged folder's classifier.weight. */
    private ClassificationHead head(TransformerModel m, PeftLoraAdapter lora, ClassificationHead.Pooling fallback)
            throws IOException {
        if (lora != null && lora.head() != null) return lora.newHead(m.kernels(), m.hiddenSize(), fallback);
        ClassificationHead h = HeadFile.fromCheckpoint(model, m.kernels(), m.hiddenSize(), fallback);
        if (h == null) {
            throw new UserException("classify needs a trained head: an --adapter that saves one (modules_to_save), or a "
                    + "merged model folder with classifier.weight; " + (lora == null ? model : adapter) + " has none");
        }
        return h;
    }

    private static ClassificationHead.Pooling pooling(String name) {
        if (name == null) return ClassificationHead.Pooling.MEAN;
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "mean" -> ClassificationHead.Pooling.MEAN;
            case "cls" -> ClassificationHead.Pooling.CLS;
            default -> throw new UserException("--pooling must be mean or cls, got '" + name + "'");
        };
    }
}
