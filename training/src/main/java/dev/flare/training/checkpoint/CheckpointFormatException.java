package dev.flare.training.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/** A checkpoint folder that cannot be resumed from: a file missing, truncated, corrupt or inconsistent. */
public final class CheckpointFormatException extends IOException {
    public CheckpointFormatException(Path dir, String problem) {
        super("checkpoint " + dir + ": " + problem);
    }

    public CheckpointFormatException(Path dir, String problem, Throwable cause) {
        super("checkpoint " + dir + ": " + problem, cause);
    }
}
