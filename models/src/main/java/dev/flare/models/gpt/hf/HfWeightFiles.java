package dev.flare.models.gpt.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face checkpoint folder: model.safetensors, or the shards that
 * model.safetensors.index.json lists (transformers shards large models). Each tensor name maps to the file
 * holding it; the files stay memory-mapped until close.
 */
final class HfWeightFiles implements AutoCloseable {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";

    private final List<SafeTensors> open = new ArrayList<>();
    private final Map<String, SafeTensors> fileOf = new LinkedHashMap<>();
    private final Map<SafeTensors, Path> pathOf = new LinkedHashMap<>();

    private HfWeightFiles() {}

    static HfWeightFiles open(Path dir) throws IOException {
        HfWeightFiles w = new HfWeightFiles();
        try {
            if (Files.isRegularFile(dir.resolve(SINGLE))) w.add(dir.resolve(SINGLE));
            else if (Files.isRegularFile(dir.resolve(INDEX))) for (Path shard : shards(dir)) w.add(shard);
            else throw new IllegalArgumentException("dir: no " + SINGLE + " or " + INDEX + " in " + dir + " (it holds "
                    + listing(dir) + "); Flare reads Hugging Face checkpoints in safetensors form only");
            return w;
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void add(Path file) throws IOException {
        SafeTensors st = SafeTensors.open(file);
        open.add(st);
        pathOf.put(st, file);
        for (String name : st.names()) {
            SafeTensors before = fileOf.putIfAbsent(name, st);
            if (before != null)
                throw new IllegalArgumentException(file + ": tensor '" + name + "' is also in " + pathOf.get(before));
        }
    }

    /** The distinct shard files of the index's weight_map, each required to lie in dir. */
    private static Set<Path> shards(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(Files.readString(index)).get("weight_map");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(index + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (map == null || !map.isObject() || map.isEmpty())
            throw new IllegalArgumentException(index + ": expected a non-empty object 'weight_map' of tensor name -> file");
        Set<Path> files = new LinkedHashSet<>();
        for (JsonNode f : map) {
            Path p = f.isTextual() ? dir.resolve(f.asText()).normalize() : null;
            if (p == null || !dir.normalize().equals(p.getParent()))
                throw new IllegalArgumentException(index + ": weight_map: expected file names inside " + dir + ", got " + f);
            files.add(p);
        }
        return files;
    }

    private static String listing(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return "nothing: it is not a folder";
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            return names.isEmpty() ? "nothing" : names.toString();
        }
    }

    Set<String> names() { return fileOf.keySet(); }

    int[] shape(String name) { return fileOf.get(name).shape(name); }

    DType dtype(String name) { return fileOf.get(name).dtype(name); }

    /** A new CPU tensor holding the named tensor as stored. */
    Tensor load(String name) { return fileOf.get(name).load(name); }

    /** The files, for messages: the single file, or the folder and the number of shards. */
    String describe() {
        return open.size() == 1 ? pathOf.get(open.getFirst()).toString()
                : pathOf.get(open.getFirst()).getParent() + " (" + open.size() + " safetensors shards)";
    }

    @Override
    public void close() {
        for (SafeTensors st : open) st.close();
    }
}
