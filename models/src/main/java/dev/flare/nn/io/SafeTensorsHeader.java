package dev.flare.nn.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.flare.tensor.DType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates a safetensors header before anything is allocated: JSON shape, known dtypes,
 * non-negative shapes, offsets inside the data, byte sizes that agree with dtype and shape, and entries that
 * tile the data exactly (no overlaps, no gaps), as the reference implementation requires.
 */
final class SafeTensorsHeader {
    /** Headers larger than this are rejected (the reference implementation's limit). */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).build());
    }

    /** One entry: where its bytes lie, relative to the start of the data section. */
    record Entry(String name, DType dtype, int[] shape, long begin, long end) {
        long numel() {
            long n = 1;
            for (int s : shape) n *= s;
            return n;
        }
    }

    final Map<String, Entry> entries;
    final Map<String, String> metadata;

    private SafeTensorsHeader(Map<String, Entry> entries, Map<String, String> metadata) {
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps a safetensors dtype name to ours. */
    static DType dtype(String file, String name, String text) {
        return switch (text) {
            case "F32" -> DType.F32;
            case "F64" -> DType.F64;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "I32" -> DType.I32;
            case "I64" -> DType.I64;
            case "BOOL" -> DType.BOOL;
            default -> throw new SafeTensorsFormatException(file, "tensor '" + name + "' has dtype '" + text
                    + "'; supported: F32, F64, F16, BF16, I32, I64, BOOL");
        };
    }

    static String name(DType dtype) {
        return dtype.name();
    }

    static SafeTensorsHeader parse(String file, byte[] headerBytes, long dataBytes) {
        JsonNode root;
        try {
            root = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new SafeTensorsFormatException(file, "the header is not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (root == null || !root.isObject())
            throw new SafeTensorsFormatException(file, "the header must be a JSON object, got " + (root == null ? "nothing" : root.getNodeType()));
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new SafeTensorsFormatException(file, "__metadata__ must be an object of strings");
                v.fields().forEachRemaining(m -> {
                    if (!m.getValue().isTextual())
                        throw new SafeTensorsFormatException(file, "__metadata__ value '" + m.getKey() + "' must be a string");
                    metadata.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            entries.put(name, entry(file, name, v, dataBytes));
        }
        checkTiling(file, entries, dataBytes);
        return new SafeTensorsHeader(Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static Entry entry(String file, String name, JsonNode v, long dataBytes) {
        if (!v.isObject()) throw new SafeTensorsFormatException(file, "tensor '" + name + "' must be an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new SafeTensorsFormatException(file, "tensor '" + name + "' has no string 'dtype'");
        if (sh == null || !sh.isArray()) throw new SafeTensorsFormatException(file, "tensor '" + name + "' has no array 'shape'");
        if (off == null || !off.isArray() || off.size() != 2)
            throw new SafeTensorsFormatException(file, "tensor '" + name + "' needs 'data_offsets' [begin, end]");
        DType dtype = dtype(file, name, dt.asText());
        int[] shape = new int[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode s = sh.get(i);
            if (!s.canConvertToLong() || !s.isIntegralNumber() || s.asLong() < 0 || s.asLong() > Integer.MAX_VALUE)
                throw new SafeTensorsFormatException(file, "tensor '" + name + "' has shape " + sh + "; sizes must be integers in [0, 2^31)");
            shape[i] = (int) s.asLong();
            numel = saturatingMultiply(numel, shape[i]);
        }
        long begin = offset(file, name, off.get(0)), end = offset(file, name, off.get(1));
        if (begin > end || end > dataBytes)
            throw new SafeTensorsFormatException(file, "tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "] outside the data section of " + dataBytes + " bytes");
        long bytes = saturatingMultiply(numel, dtype.byteSize());
        if (bytes == Long.MAX_VALUE || bytes != end - begin)
            throw new SafeTensorsFormatException(file, "tensor '" + name + "' is " + dtype + " " + sh + " = "
                    + (bytes == Long.MAX_VALUE ? "too many" : String.valueOf(bytes)) + " bytes, but its data_offsets span "
                    + (end - begin) + " bytes");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long saturatingMultiply(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    private static long offset(String file, String name, JsonNode n) {
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0)
            throw new SafeTensorsFormatException(file, "tensor '" + name + "' has a data offset that is not a non-negative integer: " + n);
        return n.asLong();
    }

    private static void checkTiling(String file, Map<String, Entry> entries, long dataBytes) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        for (Entry e : sorted) {
            if (e.begin() < at)
                throw new SafeTensorsFormatException(file, "tensor '" + e.name() + "' overlaps another tensor's bytes (begins at "
                        + e.begin() + ", previous data ends at " + at + ")");
            if (e.begin() > at)
                throw new SafeTensorsFormatException(file, "the data section has unused bytes [" + at + ", " + e.begin() + ") before tensor '" + e.name() + "'");
            at = e.end();
        }
        if (at != dataBytes)
            throw new SafeTensorsFormatException(file, "the data section has " + dataBytes + " bytes but the tensors cover " + at);
    }
}
