package dev.flare.models.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code tokenizer.json} in a run folder: {"kind": "char", "vocabulary": "..."} or {"kind": "gpt2"}. A char
 * model decodes only with the vocabulary it was trained with, so `flare train` saves it beside its checkpoints.
 * (Our own format, not Hugging Face's tokenizer.json.)
 */
public final class TokenizerFile {
    public static final String NAME = "tokenizer.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFile() {}

    public static void write(Tokenizer tok, Path dir) throws IOException {
        ObjectNode root = JSON.createObjectNode().put("kind", tok.name());
        if (tok instanceof CharTokenizer c) root.put("vocabulary", c.vocabulary());
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(NAME), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }

    public static Tokenizer read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage());
        }
        String kind = root.path("kind").asText("");
        return switch (kind) {
            case "gpt2" -> new Gpt2Tokenizer();
            case "char" -> {
                if (!root.path("vocabulary").isTextual())
                    throw new IllegalArgumentException(file + ": kind char needs a \"vocabulary\" string");
                yield CharTokenizer.fromVocabulary(root.get("vocabulary").asText());
            }
            default -> throw new IllegalArgumentException(file + ": \"kind\": expected char or gpt2, got '" + kind + "'");
        };
    }

    /** The tokenizer saved for a checkpoint folder: in the folder itself, else in its run folder (the parent). */
    public static Optional<Tokenizer> find(Path checkpoint) throws IOException {
        Path abs = checkpoint.toAbsolutePath();
        for (Path dir : new Path[]{abs, abs.getParent()})
            if (dir != null && Files.isRegularFile(dir.resolve(NAME))) return Optional.of(read(dir.resolve(NAME)));
        return Optional.empty();
    }
}
