package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LiveAllocationsTest {
    @Test
    void siteNamesTheCallerFramesOutsideTheTensorLibrary() {
        Throwable t = new Throwable();
        t.setStackTrace(new StackTraceElement[]{
                new StackTraceElement("dev.flare.tensor.cuda.CudaStorage", "<init>", "CudaStorage.java", 20),
                new StackTraceElement("dev.flare.tensor.Tensor", "empty", "Tensor.java", 67),
                new StackTraceElement("dev.flare.nn.Linear", "forward", "Linear.java", 40),
                new StackTraceElement("dev.flare.models.gpt.Block", "forward", "Block.java", 30),
                new StackTraceElement("dev.flare.models.gpt.GPT", "forward", "GPT.java", 50),
                new StackTraceElement("dev.flare.training.Trainer", "trainStep", "Trainer.java", 211),
                new StackTraceElement("dev.flare.training.Trainer", "runUntil", "Trainer.java", 170)});
        assertEquals("Linear.forward:40 < Block.forward:30 < GPT.forward:50 < Trainer.trainStep:211", LiveAllocations.site(t));
    }

    @Test
    void siteWithoutARecordedStackSaysUnknown() {
        assertEquals("(unknown)", LiveAllocations.site(null));
    }

    @Test
    void censusWhenOffSaysHowToTurnItOn() {
        if (LiveAllocations.ENABLED) return;   // a run with the flag on has nothing to check here
        assertTrue(new LiveAllocations().census(8).contains("-Dflare.debug.alloc=true"), "hint names the flag");
    }
}
