package dev.eva4j.models.onnx;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.bert.BertConfig;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loads a BERT ONNX export (e.g. all-MiniLM-L6-v2 from Hugging Face's {@code optimum} or {@code torch.onnx}) as a
 * {@link BertModel}: a {@code .onnx} file, or a folder holding exactly one {@code .onnx} file (directly, or as
 * {@code onnx/model.onnx}, the Hugging Face hub layout). Weights are mapped by {@link OnnxBertImporter}.
 */
public final class OnnxModelLoader implements ModelLoader {

    public OnnxModelLoader() {}

    @Override
    public String name() {
        return "onnx";
    }

    @Override
    public int priority() {
        return 50; // below "hf": a folder with config.json + safetensors and an ONNX copy loads the safetensors
    }

    @Override
    public String description() {
        return "ONNX export of a BERT encoder (.onnx file, or a folder with one)";
    }

    @Override
    public Availability availability() {
        return Availability.ok("pure Java");
    }

    @Override
    public boolean supports(Path path) {
        try {
            return find(path) != null;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public BertModel load(Path path, ComputeBackend backend) throws IOException {
        Path file = find(path);
        if (file == null) {
            throw new InvalidInputException(path + " is neither a .onnx file nor a folder holding exactly one");
        }
        OnnxBertImporter.Imported imp = OnnxBertImporter.importBert(OnnxModelReader.read(file), file.toString());
        return BertModel.create(config(imp.dims()), new OnnxTensorSource(imp.tensors()), backend);
    }

    /** The config the importer derived, as a {@link BertConfig}. */
    public static BertConfig config(OnnxBertDims d) {
        return new BertConfig(d.vocabSize(), d.hiddenSize(), d.numHiddenLayers(), d.numAttentionHeads(),
                d.intermediateSize(), d.maxPositionEmbeddings(), d.typeVocabSize(), d.layerNormEps(), d.hiddenAct());
    }

    /** The ONNX file at or in {@code path}, or null. */
    static Path find(Path path) throws IOException {
        if (Files.isRegularFile(path)) return isOnnx(path) ? path : null;
        if (!Files.isDirectory(path)) return null;
        List<Path> files;
        try (Stream<Path> s = Files.list(path)) {
            files = s.filter(p -> Files.isRegularFile(p) && isOnnx(p)).toList();
        }
        if (files.size() == 1) return files.get(0);
        if (files.isEmpty() && Files.isRegularFile(path.resolve("onnx").resolve("model.onnx"))) {
            return path.resolve("onnx").resolve("model.onnx");
        }
        return null;
    }

    private static boolean isOnnx(Path p) {
        return p.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".onnx");
    }
}
