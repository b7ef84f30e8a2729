package dev.flare.training.checkpoint;

import dev.flare.training.TrainConfig;

import java.util.Map;

/**
 * The contents of a checkpoint's {@code trainer.json}: everything besides tensors that a resumed run needs to
 * continue exactly. Positions count batches drawn; the dropout generator is a Philox stream whose whole state is
 * (seed, offset). valLoss is null when no evaluation ran at this step. files lists every other file of the
 * folder with its size and CRC-32C, checked before anything is loaded.
 */
public record TrainingState(int formatVersion, long step, long optimizerSteps, long skippedSteps,
                            long trainSeed, long trainPosition, long valSeed, long valPosition,
                            long dropoutSeed, long dropoutOffset, double lossScale, int lossScaleGoodSteps,
                            Double valLoss, TrainConfig config, Map<String, FileDigest> files) {
    public static final int FORMAT_VERSION = 1;

    /** Size and checksum of one file of the checkpoint. */
    public record FileDigest(long bytes, String crc32c) {}
}
