package dev.eva4j.models.hf;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.ModelLoader;
import java.io.IOException;
import java.nio.file.Path;

/** Loads a Hugging Face folder (config.json + safetensors, sharded or not), dispatching on {@code model_type}. */
public final class HfModelLoader implements ModelLoader {

    public HfModelLoader() {}

    @Override
    public String name() {
        return "hf";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public String description() {
        return "Hugging Face folder (config.json + safetensors); model types " + HfArchitectures.modelTypes();
    }

    @Override
    public Availability availability() {
        return Availability.ok("pure Java");
    }

    @Override
    public boolean supports(Path path) {
        return HfFolder.looksLike(path);
    }

    @Override
    public TransformerModel load(Path path, ComputeBackend backend) throws IOException {
        String type = ConfigJson.string(HfFolder.readConfig(path), "model_type", path.toString(), "");
        if (type.isBlank()) throw new InvalidInputException(path + ": config.json has no model_type");
        var factory = HfArchitectures.find(type).orElseThrow(() -> new InvalidInputException(path + ": model_type \""
                + type + "\" is not supported (supported: " + String.join(", ", HfArchitectures.modelTypes()) + ")"));
        try (HfFolder folder = HfFolder.open(path)) {
            return factory.load(folder, backend);
        }
    }
}
