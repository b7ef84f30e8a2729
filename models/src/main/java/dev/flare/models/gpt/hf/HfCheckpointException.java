package dev.flare.models.gpt.hf;

import dev.flare.nn.LoadReport;

/**
 * A Hugging Face checkpoint whose tensors do not fit its config.json: the report lists every missing,
 * unexpected and mis-shaped tensor by its name in the checkpoint, and the message says all of it.
 */
public final class HfCheckpointException extends IllegalArgumentException {
    private final transient LoadReport report;

    HfCheckpointException(String where, LoadReport report) {
        super(where + ": " + message(report));
        this.report = report;
    }

    public LoadReport report() { return report; }

    private static String message(LoadReport r) {
        StringBuilder sb = new StringBuilder();
        if (!r.missing().isEmpty())
            sb.append("missing tensors (the config needs them, the checkpoint lacks them): ").append(r.missing()).append("; ");
        if (!r.unexpected().isEmpty())
            sb.append("unexpected tensors (in the checkpoint, not in a GPT-2 of this config): ").append(r.unexpected()).append("; ");
        if (!r.mismatched().isEmpty()) sb.append("mismatched: ").append(r.mismatched()).append("; ");
        return sb.substring(0, Math.max(0, sb.length() - 2));
    }
}
