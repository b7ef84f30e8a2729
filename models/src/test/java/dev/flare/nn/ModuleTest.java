package dev.flare.nn;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Names, state dicts, strict/non-strict loading, dtype casts with tied weights, modes, and layer forwards. */
class ModuleTest {
    private final long seed = new Random().nextLong();
    private final Generator gen = new Generator(seed);

    /** A tiny model with a submodule, a buffer and a weight tied between two places. */
    static final class Tiny extends Module {
        final Embedding wte;
        final Mlp mlp;
        final LayerNorm ln;
        final Parameter steps;

        Tiny(Generator gen) {
            wte = registerModule("wte", new Embedding(10, 4, gen));
            mlp = registerModule("mlp", new Mlp(4, true, 0.5, 0.01, gen));
            ln = registerModule("ln_f", new LayerNorm(4, false));
            steps = registerBuffer("steps", Tensor.zeros(DType.I64, dev.flare.tensor.Device.CPU, 1));
        }
    }

    @Test
    void namesAreDottedAndInRegistrationOrder() {
        Tiny m = new Tiny(gen);
        // Own parameters and buffers first, then submodules (PyTorch's state_dict order).
        assertEquals(List.of("steps", "wte.weight", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
                "ln_f.weight"), List.copyOf(m.stateDict().keySet()));
        assertEquals(6, m.namedParameters().size(), "buffers are not parameters");
        assertEquals(10 * 4 + 4 * 16 + 16 + 16 * 4 + 4 + 4, m.parameterCount());
        assertFalse(m.steps.value().requiresGrad());
        assertTrue(m.wte.weight.value().requiresGrad());
    }

    @Test
    void strictLoadListsEveryProblemAndNonStrictLoadsTheRest() {
        Tiny a = new Tiny(gen), b = new Tiny(new Generator(seed + 1));
        Map<String, Tensor> state = new LinkedHashMap<>(a.stateDict());
        state.remove("ln_f.weight");
        state.put("extra.weight", Tensor.ones(2));
        state.put("mlp.c_fc.bias", Tensor.ones(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(state, true));
        assertTrue(e.getMessage().contains("missing keys") && e.getMessage().contains("ln_f.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected keys") && e.getMessage().contains("extra.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("mlp.c_fc.bias: shape [3] in the state dict, [16] in the module"), e.getMessage());

        LoadReport r = b.loadStateDict(state, false);
        assertEquals(List.of("ln_f.weight"), r.missing());
        assertArrayEquals(a.wte.weight.value().toFloatArray(), b.wte.weight.value().toFloatArray(), 0, "seed " + seed);
        assertNotEquals(a.mlp.fc.bias.value().sum().item(), 3.0);
    }

    /** Two slots sharing one tensor, as GPT's input embedding and LM head. */
    static final class Tied extends Module {
        final Embedding wte;
        final Parameter head;

        Tied(Generator gen) {
            wte = registerModule("wte", new Embedding(6, 3, gen));
            head = registerParameter("lm_head", wte.weight.value());
        }
    }

    @Test
    void castingKeepsTiedWeightsTiedAndCountsThemOnce() {
        Tied m = new Tied(gen);
        assertEquals(18, m.parameterCount());
        m.to(DType.F64);
        assertEquals(DType.F64, m.wte.weight.value().dtype());
        assertSame(m.wte.weight.value(), m.head.value());
        assertTrue(m.head.value().requiresGrad());
        Tiny t = new Tiny(gen).to(DType.BF16) instanceof Tiny x ? x : null;
        assertEquals(DType.I64, t.steps.value().dtype(), "integer buffers are not cast");
    }

    @Test
    void castingToTheDtypeAlreadyHeldKeepsTheVeryParametersAndTheirGradients() {
        Tied m = new Tied(gen);
        Tensor w = m.wte.weight.value(), g = Tensor.ones(w.shape());
        w.setGrad(g);
        m.to(DType.F32);
        m.to(Device.CPU);
        assertSame(w, m.wte.weight.value(), "a cast that changes nothing must not replace the leaf");
        assertSame(w, m.head.value());
        assertSame(g, w.grad());
    }

    @Test
    void evalModeTurnsDropoutIntoIdentity() {
        Tiny m = new Tiny(gen);
        Tensor x = Tensor.randn(gen, 3, 4);
        m.eval();
        assertFalse(m.mlp.isTraining());
        assertArrayEquals(m.mlp.forward(x).toFloatArray(), m.mlp.forward(x).toFloatArray(), 0);
        m.train();
        assertTrue(m.mlp.isTraining());
    }

    @Test
    void linearComputesXwPlusBAndTrains() {
        Linear l = new Linear(3, 2, true, gen);
        Tensor x = Tensor.randn(gen, 5, 3);
        Tensor expected = x.matmul(l.weight.value()).add(l.bias.value());
        assertArrayEquals(expected.toFloatArray(), l.forward(x).toFloatArray(), 1e-6f);
        l.forward(x).sum().backward();
        assertNotNull(l.weight.value().grad());
        assertArrayEquals(new float[]{5, 5}, l.bias.value().grad().toFloatArray(), 1e-6f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> l.forward(Tensor.zeros(2, 4)));
        assertTrue(e.getMessage().contains("must end in 3 features"), e.getMessage());
    }

    @Test
    void duplicateAndDottedNamesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerParameter("a.b", Tensor.ones(1)); }
        });
        assertTrue(e.getMessage().contains("without dots"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerParameter("w", Tensor.ones(1)); registerParameter("w", Tensor.ones(1)); }
        });
        assertTrue(e.getMessage().contains("already registered"), e.getMessage());
    }
}
