package dev.flare.nn.io;

/** A safetensors file that is malformed, truncated or inconsistent; the message says what and where. */
public final class SafeTensorsFormatException extends IllegalArgumentException {
    public SafeTensorsFormatException(String file, String message) {
        super(file + ": " + message);
    }
}
