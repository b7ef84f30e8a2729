package dev.flare.tensor;

import java.util.Objects;

/** Where a tensor's storage lives: the host (CPU) or CUDA device {@code index}. */
public record Device(Type type, int index) {
    public enum Type { CPU, CUDA }

    public static final Device CPU = new Device(Type.CPU, 0);

    public Device {
        Objects.requireNonNull(type, "type");
        if (index < 0) throw new IllegalArgumentException("device index: expected >= 0, got " + index);
        if (type == Type.CPU && index != 0) throw new IllegalArgumentException("device index: the CPU has only index 0, got " + index);
    }

    public static Device cuda(int index) { return new Device(Type.CUDA, index); }

    public static Device cuda() { return cuda(0); }

    public boolean isCuda() { return type == Type.CUDA; }

    public boolean isCpu() { return type == Type.CPU; }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String text) {
        Objects.requireNonNull(text, "device");
        String s = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return CPU;
        if (s.equals("cuda")) return cuda(0);
        if (s.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("device: expected cpu, cuda or cuda:N, got '" + text + "'");
    }

    @Override
    public String toString() { return type == Type.CPU ? "cpu" : "cuda:" + index; }
}
