package dev.flare.training;

import dev.flare.models.gpt.GPTConfig;
import dev.flare.models.text.CharTokenizer;
import dev.flare.models.text.TokenizerFile;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.Tensor;
import dev.flare.training.checkpoint.CheckpointFormatException;
import dev.flare.training.checkpoint.TrainedModel;
import dev.flare.training.checkpoint.TrainerCheckpoint;
import dev.flare.training.data.Tokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Checkpoints hold wte as the model stores it, padded to paddedVocabSize rows, and load back exactly; checkpoints
 * written before the padding (vocabSize rows) still resume, bit for bit; any other row count is refused by name.
 */
class VocabPaddingCheckpointTest {
    @TempDir Path dir;
    private final long seed = new Random().nextLong();
    private final Tokens data = TinyRuns.pattern(1200);
    private final GPTConfig model = TinyRuns.model(0.0);
    private final int v = model.vocabSize(), vp = model.paddedVocabSize(), c = model.nEmbd();

    /** Two steps of a four-step run in dir/out; returns its checkpoint folder. */
    private Path twoSteps(String out) throws Exception {
        try (Trainer t = Trainer.create(TinyRuns.config(model, dir.resolve(out), 4, seed), data, data)) {
            t.runUntil(2, null);
        }
        return dir.resolve(out).resolve("step-00000002");
    }

    /** A copy of checkpoint ck in dir/out/step-00000002 whose wte and its moments keep only their first rows. */
    private Path withWteRows(Path ck, String out, int rows) throws Exception {
        TrainerCheckpoint.Contents contents = TrainerCheckpoint.read(ck);
        Map<String, Tensor> weights = new LinkedHashMap<>(contents.weights());
        weights.put("wte.weight", weights.get("wte.weight").narrow(0, 0, rows).contiguous());
        Map<String, Tensor[]> moments = new LinkedHashMap<>(contents.moments());
        Tensor[] mv = moments.get("wte.weight");
        moments.put("wte.weight", new Tensor[]{mv[0].narrow(0, 0, rows).contiguous(), mv[1].narrow(0, 0, rows).contiguous()});
        Path copy = dir.resolve(out).resolve("step-00000002");
        Files.createDirectories(copy);
        TrainerCheckpoint.write(copy, weights, moments, contents.state());
        TokenizerFile.write(CharTokenizer.fromVocabulary("abcdefghijklmnop"), copy);
        return copy;
    }

    private static void assertPaddingZero(Tensor t, int v, String what) {
        for (float x : t.narrow(0, v, t.size(0) - v).toFloatArray()) assertEquals(0f, x, 0f, what + ": a padding row is not zero");
    }

    @Test
    void checkpointsStoreThePaddedWteAndLoadItBackExactly() throws Exception {
        assertEquals(64, vp, "TinyRuns' vocabulary of 16 is padded to 64");
        Path ck = twoSteps("run");
        try (SafeTensors st = SafeTensors.open(ck.resolve(TrainerCheckpoint.MODEL))) {
            assertArrayEquals(new int[]{vp, c}, st.shape("wte.weight"));
        }
        TrainerCheckpoint.Contents contents = TrainerCheckpoint.read(ck);
        Tensor wte = contents.weights().get("wte.weight");
        assertPaddingZero(wte, v, "weights");
        assertPaddingZero(contents.moments().get("wte.weight")[0], v, "exp_avg");
        assertPaddingZero(contents.moments().get("wte.weight")[1], v, "exp_avg_sq");
        TokenizerFile.write(CharTokenizer.fromVocabulary("abcdefghijklmnop"), ck);
        TrainedModel loaded = TrainedModel.load(ck);
        assertArrayEquals(wte.toFloatArray(), loaded.model().wte.weight.value().toFloatArray(), "seed " + seed);
        assertEquals(model.parameterCount(), loaded.model().parameterCount());
    }

    @Test
    void checkpointsFromBeforeThePaddingResumeBitForBit() throws Exception {
        Path ck = twoSteps("run");
        Path legacy = withWteRows(ck, "legacy", v);
        try (SafeTensors st = SafeTensors.open(legacy.resolve(TrainerCheckpoint.MODEL))) {
            assertArrayEquals(new int[]{v, c}, st.shape("wte.weight"), "the old layout: vocabSize rows");
        }
        List<StepMetrics> padded = new ArrayList<>(), unpadded = new ArrayList<>();
        float[] paddedWeights, unpaddedWeights;
        try (Trainer t = Trainer.resume(ck, data, data, cfg -> cfg.withOutDir(dir.resolve("a")))) {
            t.run(padded::add);
            paddedWeights = t.masterWeights().named().get("wte.weight").toFloatArray();
        }
        try (Trainer t = Trainer.resume(legacy, data, data, cfg -> cfg.withOutDir(dir.resolve("b")))) {
            t.run(unpadded::add);
            unpaddedWeights = t.masterWeights().named().get("wte.weight").toFloatArray();
        }
        assertEquals(2, padded.size());
        for (int i = 0; i < padded.size(); i++)
            assertEquals(Double.doubleToLongBits(padded.get(i).loss()), Double.doubleToLongBits(unpadded.get(i).loss()),
                    "step " + padded.get(i).step() + ", seed " + seed);
        assertArrayEquals(paddedWeights, unpaddedWeights, "seed " + seed);
        Tensor sampled = TrainedModel.load(legacy).model().wte.weight.value();
        assertArrayEquals(new int[]{vp, c}, sampled.shape());
        assertPaddingZero(sampled, v, "an old checkpoint loaded for sampling");
    }

    @Test
    void aWteOfAnotherRowCountIsRefusedNamingWhatWasExpected() throws Exception {
        Path bad = withWteRows(twoSteps("run"), "bad", v + 4);
        String want = "wte.weight: shape [" + (v + 4) + ", " + c + "] in the state dict, [" + vp + ", " + c + "] in the module";
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Trainer.resume(bad, data, data));
        assertTrue(e.getMessage().startsWith("checkpoint " + bad + ": model.safetensors does not fit") && e.getMessage().contains(want), e.getMessage());
        e = assertThrows(CheckpointFormatException.class, () -> TrainedModel.load(bad));
        assertTrue(e.getMessage().startsWith("checkpoint " + bad + ": model.safetensors does not fit") && e.getMessage().contains(want), e.getMessage());
    }
}
