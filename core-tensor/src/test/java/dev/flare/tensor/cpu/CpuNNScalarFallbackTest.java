package dev.flare.tensor.cpu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The float kernels have a Vector API path and a scalar fallback (used when jdk.incubator.vector is not
 * resolved). The other tests exercise the vector path; these re-run the main ones on the scalar path.
 */
class CpuNNScalarFallbackTest {
    private boolean saved;

    @BeforeEach
    void scalar() {
        saved = CpuNN.vector;
        CpuNN.vector = false;
    }

    @AfterEach
    void restore() { CpuNN.vector = saved; }

    @Test
    void scalarSoftmaxForwardBackwardAndStability() {
        CpuSoftmaxTest t = new CpuSoftmaxTest();
        t.softmaxAndLogSoftmaxMatchTheReferenceAlongAnyDimForOddAndLargeSizes();
        t.softmaxIsStableForLogitsOfMagnitude1000();
        t.softmaxOfMaskedRowsGivesZeroWeightToMinusInfinity();
        t.softmaxBackwardMatchesTheReferenceForStridedInputs();
        t.halfPrecisionSoftmaxIsComputedInFloatAndRoundedOnce();
    }

    @Test
    void scalarCrossEntropyForwardAndBackward() {
        CpuCrossEntropyTest t = new CpuCrossEntropyTest();
        t.crossEntropyMatchesTheReferenceWithSomeRowsIgnoredOnStridedInputs();
        t.crossEntropyIsStableForLogitsOfMagnitude1000();
        t.crossEntropyBackwardMatchesSoftmaxMinusOneHotAndZeroesIgnoredRows();
        t.halfPrecisionLogitsGiveF32LossAndRoundedGradients();
    }

    @Test
    void scalarGeluBackward() {
        CpuGeluBackwardTest t = new CpuGeluBackwardTest();
        t.geluBackwardMatchesTheTanhFormulaOnContiguousAndStridedInputs();
        t.geluBackwardInHalfPrecisionIsRoundedOnce();
    }
}
