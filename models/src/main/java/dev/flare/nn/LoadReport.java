package dev.flare.nn;

import java.util.List;

/** What {@link Module#loadStateDict} found: keys the module lacked, keys the dict lacked, and shape or dtype clashes. */
public record LoadReport(List<String> missing, List<String> unexpected, List<String> mismatched) {
    public boolean isClean() { return missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty(); }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (!missing.isEmpty()) sb.append("missing keys (in the module, not in the state dict): ").append(missing).append("; ");
        if (!unexpected.isEmpty()) sb.append("unexpected keys (in the state dict, not in the module): ").append(unexpected).append("; ");
        if (!mismatched.isEmpty()) sb.append("mismatched: ").append(mismatched).append("; ");
        return sb.isEmpty() ? "all keys matched" : sb.substring(0, sb.length() - 2);
    }
}
