package dev.flare.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.flare.tensor.Device;
import dev.flare.training.Precision;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Named settings of a run ("lr", "model.nLayer", ...) as text, gathered from a --config file (JSON or YAML,
 * nested objects flattened with dots), command-line options and --set key=value; a later put wins. Keys outside
 * the valid set are refused when put, values are parsed when read, so each error names the key.
 */
final class Settings {
    private final TreeSet<String> valid;
    private final Map<String, String> values = new LinkedHashMap<>();

    Settings(Collection<String> valid) {
        this.valid = new TreeSet<>(valid);
    }

    void put(String key, String value, String source) {
        if (!valid.contains(key))
            throw new IllegalArgumentException(source + ": unknown setting '" + key + "'; valid settings: " + String.join(", ", valid));
        values.put(key, value);
    }

    /** Every key=value of --set. */
    void putAssignments(List<String> assignments) {
        for (String a : assignments) {
            int eq = a.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--set: expected key=value, got '" + a + "'");
            put(a.substring(0, eq).strip(), a.substring(eq + 1).strip(), "--set");
        }
    }

    /** The settings of a .json, .yaml or .yml file. */
    void putFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such config file");
        String name = file.getFileName().toString().toLowerCase();
        ObjectMapper mapper = name.endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
        JsonNode root;
        try {
            root = mapper.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid " + (name.endsWith(".json") ? "JSON" : "YAML") + ": "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException(file + ": expected an object of settings at the top");
        flatten(root, "", file.toString());
    }

    private void flatten(JsonNode node, String prefix, String source) {
        for (var e : node.properties()) {
            String key = prefix + e.getKey();
            JsonNode v = e.getValue();
            if (v.isObject()) flatten(v, key + ".", source);
            else if (v.isValueNode() && !v.isNull()) put(key, v.asText(), source);
            else throw new IllegalArgumentException(source + ": " + key + ": expected a single value, got " + v);
        }
    }

    Optional<String> text(String key) { return Optional.ofNullable(values.get(key)); }

    boolean has(String key) { return values.containsKey(key); }

    /** The value of key parsed as type, or fallback when it was not set. */
    <T> T get(String key, Class<T> type, T fallback) {
        String v = values.get(key);
        return v == null ? fallback : type.cast(parse(key, type, v));
    }

    /** Parses a value for a setting of the given type (boxed or primitive). */
    static Object parse(String key, Class<?> type, String v) {
        try {
            if (type == int.class || type == Integer.class) return Integer.parseInt(v);
            if (type == long.class || type == Long.class) return Long.parseLong(v);
            if (type == double.class || type == Double.class) return Double.parseDouble(v);
            if (type == boolean.class || type == Boolean.class) {
                if (!v.equals("true") && !v.equals("false")) throw new NumberFormatException();
                return Boolean.parseBoolean(v);
            }
            if (type == Device.class) return Device.parse(v);
            if (type == Precision.class) return Precision.parse(v);
            if (type == Path.class) return Path.of(v);
            if (type == String.class) return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": expected " + typeName(type) + ", got '" + v + "'");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": expected " + typeName(type) + ", got '" + v + "' (" + e.getMessage() + ")");
        }
        throw new IllegalStateException(key + ": settings of type " + type.getSimpleName() + " are not supported");
    }

    static String typeName(Class<?> type) {
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) return "an integer";
        if (type == double.class || type == Double.class) return "a number";
        if (type == boolean.class || type == Boolean.class) return "true or false";
        if (type == Device.class) return "a device (cpu, cuda, cuda:N)";
        if (type == Precision.class) return "a precision (fp32, bf16, fp16)";
        if (type == Path.class) return "a path";
        return "text";
    }
}
