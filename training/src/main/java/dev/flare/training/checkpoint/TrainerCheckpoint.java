package dev.flare.training.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The files of one checkpoint folder: {@code model.safetensors} (the F32 master weights under the model's
 * parameter names), {@code optimizer.safetensors} (AdamW's moments as {@code <name>.exp_avg} and
 * {@code <name>.exp_avg_sq}) and {@code trainer.json} ({@link TrainingState}, with each file's size and
 * CRC-32C). Reading checks trainer.json, then every listed file's size and checksum, before loading any tensor,
 * so a truncated or corrupt checkpoint is an error that names the file, never a silently different run.
 * {@code wte.weight} is stored as the model holds it, with {@code paddedVocabSize} rows; checkpoints written
 * before the padding (vocabSize rows) are padded with zero rows on reading ({@link UnpaddedVocabCheckpoints}).
 */
public final class TrainerCheckpoint {
    public static final String MODEL = "model.safetensors", OPTIMIZER = "optimizer.safetensors", STATE = "trainer.json";
    private static final String M = ".exp_avg", V = ".exp_avg_sq";

    private TrainerCheckpoint() {}

    /** A checkpoint loaded into CPU tensors. moments maps a parameter name to {m, v}. */
    public record Contents(TrainingState state, Map<String, Tensor> weights, Map<String, Tensor[]> moments) {}

    /** Writes the three files into dir (state's files field is filled in here). */
    public static void write(Path dir, Map<String, Tensor> weights, Map<String, Tensor[]> moments, TrainingState state) throws IOException {
        Map<String, String> meta = Map.of("format", "flare-checkpoint", "step", Long.toString(state.step()));
        SafeTensors.save(dir.resolve(MODEL), weights, meta);
        Map<String, Tensor> opt = new LinkedHashMap<>();
        moments.forEach((name, mv) -> {
            opt.put(name + M, mv[0]);
            opt.put(name + V, mv[1]);
        });
        SafeTensors.save(dir.resolve(OPTIMIZER), opt, meta);
        Map<String, TrainingState.FileDigest> files = new LinkedHashMap<>();
        for (String f : new String[]{MODEL, OPTIMIZER}) files.put(f, digest(dir.resolve(f)));
        TrainingState full = new TrainingState(state.formatVersion(), state.step(), state.optimizerSteps(), state.skippedSteps(),
                state.trainSeed(), state.trainPosition(), state.valSeed(), state.valPosition(), state.dropoutSeed(),
                state.dropoutOffset(), state.lossScale(), state.lossScaleGoodSteps(), state.valLoss(), state.config(), files);
        Files.write(dir.resolve(STATE), CheckpointJson.MAPPER.writeValueAsBytes(full));
    }

    /** A checkpoint's state and weights, without the optimizer's moments (what inference needs). */
    public record Weights(TrainingState state, Map<String, Tensor> weights) {}

    /** Reads and verifies a checkpoint folder. */
    public static Contents read(Path dir) throws IOException {
        TrainingState state = readState(dir);
        for (var e : state.files().entrySet()) verify(dir, e.getKey(), e.getValue());
        try {
            var model = state.config().model();
            // Checkpoints from before the vocabulary padding hold wte with vocabSize rows: padded here, exactly.
            Map<String, Tensor> weights = UnpaddedVocabCheckpoints.padWeights(model, loadAll(dir.resolve(MODEL)));
            Map<String, Tensor[]> moments = UnpaddedVocabCheckpoints.padMoments(model, pairMoments(dir, loadAll(dir.resolve(OPTIMIZER))));
            return new Contents(state, weights, moments);
        } catch (IllegalArgumentException e) {        // SafeTensorsFormatException and friends
            throw new CheckpointFormatException(dir, e.getMessage(), e);
        }
    }

    /**
     * Reads and verifies the state and the weights only: the optimizer's file (twice the weights' size) is neither
     * read nor checked, so sampling from a GPT-2 124M checkpoint reads 0.5 GB instead of 1.5 GB.
     */
    public static Weights readWeights(Path dir) throws IOException {
        TrainingState state = readState(dir);
        verify(dir, MODEL, state.files().get(MODEL));
        try {
            return new Weights(state, UnpaddedVocabCheckpoints.padWeights(state.config().model(), loadAll(dir.resolve(MODEL))));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(dir, e.getMessage(), e);
        }
    }

    /** trainer.json, parsed and checked (format version, both files listed). */
    private static TrainingState readState(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new CheckpointFormatException(dir, "not a folder (expected step-NNNNNNNN/ with " + STATE + ")");
        Path json = dir.resolve(STATE);
        if (!Files.isRegularFile(json)) throw new CheckpointFormatException(dir, STATE + " is missing");
        TrainingState state;
        try {
            state = CheckpointJson.MAPPER.readValue(json.toFile(), TrainingState.class);
        } catch (JacksonException | IllegalArgumentException e) {
            throw new CheckpointFormatException(dir, STATE + " is not a valid trainer state (truncated or edited?): " + e.getMessage(), e);
        }
        if (state.formatVersion() != TrainingState.FORMAT_VERSION)
            throw new CheckpointFormatException(dir, STATE + " has format version " + state.formatVersion()
                    + "; this Flare reads version " + TrainingState.FORMAT_VERSION);
        if (state.files() == null || !state.files().containsKey(MODEL) || !state.files().containsKey(OPTIMIZER))
            throw new CheckpointFormatException(dir, STATE + " must list " + MODEL + " and " + OPTIMIZER + " under files, got "
                    + (state.files() == null ? "none" : state.files().keySet()));
        return state;
    }

    private static void verify(Path dir, String name, TrainingState.FileDigest want) throws IOException {
        Path f = dir.resolve(name);
        if (!Files.isRegularFile(f)) throw new CheckpointFormatException(dir, name + " is missing");
        long size = Files.size(f);
        if (size != want.bytes())
            throw new CheckpointFormatException(dir, name + " has " + size + " bytes, expected " + want.bytes()
                    + (size < want.bytes() ? " (truncated)" : ""));
        String crc = digest(f).crc32c();
        if (!crc.equals(want.crc32c()))
            throw new CheckpointFormatException(dir, name + " is corrupt: CRC-32C " + crc + ", expected " + want.crc32c());
    }

    private static Map<String, Tensor> loadAll(Path file) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String n : st.names()) out.put(n, st.load(n));
        }
        return out;
    }

    private static Map<String, Tensor[]> pairMoments(Path dir, Map<String, Tensor> flat) throws CheckpointFormatException {
        Map<String, Tensor[]> out = new LinkedHashMap<>();
        for (var e : flat.entrySet()) {
            String k = e.getKey();
            boolean isV = k.endsWith(V), isM = !isV && k.endsWith(M);
            if (!isM && !isV) throw new CheckpointFormatException(dir, OPTIMIZER + " has tensor '" + k + "'; expected names ending in " + M + " or " + V);
            String name = k.substring(0, k.length() - (isV ? V : M).length());
            out.computeIfAbsent(name, n -> new Tensor[2])[isV ? 1 : 0] = e.getValue();
        }
        for (var e : out.entrySet())
            if (e.getValue()[0] == null || e.getValue()[1] == null)
                throw new CheckpointFormatException(dir, OPTIMIZER + " has only one of " + e.getKey() + M + " and " + e.getKey() + V);
        return out;
    }

    /** Size and CRC-32C (hex) of a file. */
    static TrainingState.FileDigest digest(Path f) throws IOException {
        CRC32C crc = new CRC32C();
        long bytes = 0;
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(f)) {
            for (int n; (n = in.read(buf)) > 0; bytes += n) crc.update(buf, 0, n);
        }
        return new TrainingState.FileDigest(bytes, String.format("%08x", crc.getValue()));
    }
}
