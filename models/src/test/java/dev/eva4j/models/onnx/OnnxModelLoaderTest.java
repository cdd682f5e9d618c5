package dev.eva4j.models.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.spi.ModelLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelLoaderTest {
    private final OnnxModelLoader loader = new OnnxModelLoader();

    @Test
    void registeredAsAServiceNamedOnnx() {
        assertTrue(ServiceLoader.load(ModelLoader.class).stream().anyMatch(p -> p.get().name().equals("onnx")));
        assertTrue(loader.isAvailable());
    }

    @Test
    void supportsAnOnnxFileOrAFolderWithExactlyOne(@TempDir Path dir) throws Exception {
        assertFalse(loader.supports(dir), "empty folder");
        assertFalse(loader.supports(dir.resolve("missing.onnx")));
        Path txt = Files.writeString(dir.resolve("notes.txt"), "x");
        assertFalse(loader.supports(txt));
        Path a = Files.write(dir.resolve("a.ONNX"), new TinyBertOnnx(1, 1, 8, 2, 8, TinyBertOnnx.HeadsHint.RESHAPE).bytes);
        assertTrue(loader.supports(a));
        assertTrue(loader.supports(dir));
        Files.write(dir.resolve("b.onnx"), new byte[0]);
        assertFalse(loader.supports(dir), "two .onnx files: ambiguous");
        Path hub = dir.resolve("hub");
        Files.createDirectories(hub.resolve("onnx"));
        Files.copy(a, hub.resolve("onnx").resolve("model.onnx"));
        assertTrue(loader.supports(hub), "Hugging Face hub layout onnx/model.onnx");
    }

    @Test
    void loadsTheGeneratedExportAsABertModel(@TempDir Path dir) throws Exception {
        Path f = Files.write(dir.resolve("tiny.onnx"), new TinyBertOnnx(5, 2, 8, 2, 12, TinyBertOnnx.HeadsHint.RESHAPE).bytes);
        try (BertModel m = loader.load(dir, new OpenBlasBackend())) {
            assertEquals("bert", m.modelType());
            assertEquals(8, m.hiddenSize());
            assertEquals(2, m.config().numHeads());
            assertEquals(12, m.linears().size());
            assertEquals("encoder.layer.1.output.dense", m.linears().get(11).path());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> loader.load(dir.resolve("nothing-here"), new OpenBlasBackend()));
        assertTrue(e.getMessage().contains("nothing-here"), e.getMessage());
        Files.write(f, java.util.Arrays.copyOf(Files.readAllBytes(f), 100));
        e = assertThrows(IllegalArgumentException.class, () -> loader.load(f, new OpenBlasBackend()));
        assertTrue(e.getMessage().contains(f.toString()) && !e.getMessage().contains("\n"), e.getMessage());
    }
}
