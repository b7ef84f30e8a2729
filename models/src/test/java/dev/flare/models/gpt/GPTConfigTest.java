package dev.flare.models.gpt;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Presets and their parameter counts (GPT-2's published sizes with a tied LM head). */
class GPTConfigTest {
    @Test
    void gpt2PresetsHaveTheirKnownParameterCounts() {
        assertEquals(124_439_808L, GPTConfig.preset("gpt2").parameterCount());
        assertEquals(354_823_168L, GPTConfig.preset("gpt2-medium").parameterCount());
        assertEquals(774_030_080L, GPTConfig.preset("gpt2-large").parameterCount());
        assertEquals(1_557_611_200L, GPTConfig.preset("gpt2-xl").parameterCount());
        assertEquals(64, GPTConfig.preset("gpt2").headDim());
    }

    @Test
    void badConfigsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GPTConfig(65, 64, 2, 3, 32, 0, true));
        assertTrue(e.getMessage().contains("nEmbd: must be a multiple of nHead (3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GPTConfig.preset("gpt3"));
        assertTrue(e.getMessage().contains("'gpt3'") && e.getMessage().contains("gpt2-xl"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GPTConfig.preset("nano").withDropout(1.0));
    }
}
