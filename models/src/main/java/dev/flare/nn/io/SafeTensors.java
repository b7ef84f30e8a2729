package dev.flare.nn.io;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Shapes;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cpu.CpuStorage;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads (memory-mapped) and writes the safetensors format: an 8-byte little-endian header length, a JSON
 * header, then the raw little-endian tensor bytes. The whole header is validated before any tensor memory
 * is allocated, so a malformed or hostile file gives a {@link SafeTensorsFormatException}, never a crash or a
 * huge allocation.
 */
public final class SafeTensors implements AutoCloseable {
    private final String file;
    private final Arena arena;
    private final MemorySegment data;
    private final SafeTensorsHeader header;

    private SafeTensors(String file, Arena arena, MemorySegment data, SafeTensorsHeader header) {
        this.file = file;
        this.arena = arena;
        this.data = data;
        this.header = header;
    }

    /** Maps and validates a file. Close it to unmap. */
    public static SafeTensors open(Path path) throws IOException {
        String file = path.toString();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new SafeTensorsFormatException(file, "the file has " + size + " bytes; a header length needs 8");
            Arena arena = Arena.ofShared();
            try {
                MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
                if (n < 2 || n > SafeTensorsHeader.MAX_HEADER_BYTES || n > size - 8)
                    throw new SafeTensorsFormatException(file, "the header length is " + n + " bytes; expected 2.."
                            + Math.min(SafeTensorsHeader.MAX_HEADER_BYTES, size - 8) + " for a file of " + size + " bytes");
                byte[] json = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
                MemorySegment data = all.asSlice(8 + n);
                return new SafeTensors(file, arena, data, SafeTensorsHeader.parse(file, json, data.byteSize()));
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    public Set<String> names() { return header.entries.keySet(); }

    public Map<String, String> metadata() { return header.metadata; }

    public DType dtype(String name) { return entry(name).dtype(); }

    public int[] shape(String name) { return entry(name).shape().clone(); }

    private SafeTensorsHeader.Entry entry(String name) {
        SafeTensorsHeader.Entry e = header.entries.get(name);
        if (e == null) throw new IllegalArgumentException("name: no tensor '" + name + "' in " + file + " (it has " + header.entries.size() + " tensors)");
        return e;
    }

    /** Copies one tensor into a new CPU tensor. */
    public Tensor load(String name) {
        SafeTensorsHeader.Entry e = entry(name);
        int n = HostArrays.checkedSize(name, e.numel());
        Object array = HostArrays.allocate(e.dtype(), n);
        MemorySegment src = data.asSlice(e.begin(), e.end() - e.begin());
        MemorySegment dst = segmentOf(array);
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || e.dtype().byteSize() == 1) {
            dst.copyFrom(src);
        } else {
            throw new UnsupportedOperationException("big-endian hosts are not supported");
        }
        if (e.dtype() == DType.BOOL) {
            byte[] b = (byte[]) array;
            for (int i = 0; i < b.length; i++)
                if (b[i] != 0 && b[i] != 1)
                    throw new SafeTensorsFormatException(file, "BOOL tensor '" + name + "' holds byte " + b[i] + " at element " + i);
        }
        return Tensor.of(new CpuStorage(e.dtype(), array), e.shape(), Shapes.contiguousStrides(e.shape()), 0);
    }

    public Tensor load(String name, Device device) { return load(name).to(device); }

    @Override
    public void close() { arena.close(); }

    /** Writes tensors (any device, dtype, layout) in the given order, with optional string metadata. */
    public static void save(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> head = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) head.put("__metadata__", metadata);
        long at = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) throw new IllegalArgumentException("tensors: the name __metadata__ is reserved");
            Tensor t = e.getValue();
            long bytes = t.numel() * t.dtype().byteSize();
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", SafeTensorsHeader.name(t.dtype()));
            info.put("shape", t.shape());
            info.put("data_offsets", new long[]{at, at + bytes});
            head.put(e.getKey(), info);
            at += bytes;
        }
        byte[] json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(head);
        int padded = (json.length + 7) / 8 * 8;            // align the data section to 8 bytes, padding with spaces
        byte[] headerBytes = java.util.Arrays.copyOf(json, padded);
        java.util.Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
        try (OutputStream out = Channels.newOutputStream(FileChannel.open(path, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))) {
            java.nio.ByteBuffer len = java.nio.ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            for (Tensor t : tensors.values()) out.write(littleEndianBytes(t));
        }
    }

    /** A heap segment over one of the host array types of {@link HostArrays}. */
    private static MemorySegment segmentOf(Object array) {
        return switch (array) {
        case float[] a -> MemorySegment.ofArray(a);
        case double[] a -> MemorySegment.ofArray(a);
        case short[] a -> MemorySegment.ofArray(a);
        case int[] a -> MemorySegment.ofArray(a);
        case long[] a -> MemorySegment.ofArray(a);
        case byte[] a -> MemorySegment.ofArray(a);
        default -> throw new IllegalStateException();
    };
    }

    private static byte[] littleEndianBytes(Tensor t) {
        Tensor c = dev.flare.tensor.ops.HostData.toCpu(t, t.dtype());
        Object arr = ((CpuStorage) c.storage()).array();
        int n = (int) c.numel(), off = (int) c.offset(), size = t.dtype().byteSize();
        MemorySegment src = segmentOf(arr);
        return src.asSlice((long) off * size, (long) n * size).toArray(ValueLayout.JAVA_BYTE);
    }

}
