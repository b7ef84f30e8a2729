package dev.flare.examples.library;

import dev.flare.models.text.CharTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** TrainTinyGpt learns its string: the loss falls well below ln(vocab), and the run folder can be sampled from. */
class TrainTinyGptTest {

    @Test
    void lossFallsAndTheSampleUsesTheVocabulary(@TempDir Path dir) throws Exception {
        TrainTinyGpt.Result r = TrainTinyGpt.train(TrainTinyGpt.TEXT, 60, dir.resolve("run"), 20);
        List<Double> losses = r.losses();
        assertEquals(60, losses.size());
        double uniform = Math.log(CharTokenizer.fromText(TrainTinyGpt.TEXT).vocabSize());
        assertEquals(uniform, losses.get(0), 0.5, "a fresh model starts near ln(vocab)");
        double lastFive = losses.subList(55, 60).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertTrue(lastFive < 0.6 * uniform, "loss should fall well below ln(vocab) " + uniform + ": " + losses);
        assertTrue(r.sample().startsWith(TrainTinyGpt.PROMPT), r.sample());
        assertEquals(TrainTinyGpt.PROMPT.length() + 60, r.sample().length());
        assertTrue(r.sample().chars().allMatch(c -> TrainTinyGpt.TEXT.indexOf(c) >= 0), r.sample());
        assertTrue(Files.isRegularFile(dir.resolve("run/tokenizer.json")));
        assertTrue(Files.isRegularFile(dir.resolve("run/step-00000060/model.safetensors")));
    }
}
