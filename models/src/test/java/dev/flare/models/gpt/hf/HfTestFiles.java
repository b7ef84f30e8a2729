package dev.flare.models.gpt.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** Edits the files of a checkpoint folder in tests: a config.json field, the set of tensors. */
final class HfTestFiles {
    private HfTestFiles() {}

    static void editConfig(Path dir, Consumer<ObjectNode> edit) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        edit.accept(config);
        json.writeValue(dir.resolve("config.json").toFile(), config);
    }

    /** Every tensor of dir/model.safetensors, in file order, loaded into memory. */
    static Map<String, Tensor> readTensors(Path dir) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(dir.resolve("model.safetensors"))) {
            for (String n : st.names()) out.put(n, st.load(n));
        }
        return out;
    }

    static void writeTensors(Path dir, Map<String, Tensor> tensors) throws IOException {
        SafeTensors.save(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    }
}
