package dev.flare.tensor;

/** Byte counts for people: the memory statistics and out-of-memory messages of every device. */
public final class Bytes {
    private Bytes() {}

    /** "1.50 GiB", "12.0 MiB", "3.5 KiB", "512 B", "-2.0 MiB" (a count that fell). */
    public static String human(long bytes) {
        if (bytes < 0) return "-" + human(-bytes);
        if (bytes < 1024) return bytes + " B";
        if (bytes < (1L << 20)) return String.format("%.1f KiB", bytes / 1024.0);
        if (bytes < (1L << 30)) return String.format("%.1f MiB", bytes / (double) (1L << 20));
        return String.format("%.2f GiB", bytes / (double) (1L << 30));
    }
}
