package dev.flare.nn.io;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Round trips of every dtype, and each kind of malformed file rejected with its own message. */
class SafeTensorsTest {
    @TempDir Path dir;

    @Test
    void roundTripsEveryDtypeIncludingStridedViews() throws IOException {
        long seed = new Random().nextLong();
        Generator gen = new Generator(seed);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("f32", Tensor.randn(gen, 3, 5));
        in.put("f32.t", Tensor.randn(gen, 4, 6).t());            // non-contiguous: written in logical order
        in.put("f64", Tensor.randn(gen, DType.F64, dev.flare.tensor.Device.CPU, 7));
        in.put("bf16", Tensor.randn(gen, DType.BF16, dev.flare.tensor.Device.CPU, 2, 3));
        in.put("f16", Tensor.randn(gen, DType.F16, dev.flare.tensor.Device.CPU, 5));
        in.put("i64", Tensor.fromArray(new long[]{1, -2, Long.MAX_VALUE}, 3));
        in.put("i32", Tensor.fromArray(new int[]{7, -8}, 2));
        in.put("bool", Tensor.fromArray(new boolean[]{true, false, true}, 3));
        in.put("empty", Tensor.zeros(0, 4));
        in.put("scalar", Tensor.scalar(2.5));
        Path f = dir.resolve("t.safetensors");
        SafeTensors.save(f, in, Map.of("format", "pt"));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertEquals(in.keySet(), st.names());
            assertEquals("pt", st.metadata().get("format"));
            for (var e : in.entrySet()) {
                Tensor got = st.load(e.getKey());
                assertEquals(e.getValue().dtype(), got.dtype(), e.getKey());
                assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                assertArrayEquals(e.getValue().toDoubleArray(), got.toDoubleArray(), 0, e.getKey() + " (seed " + seed + ")");
            }
        }
    }

    /** Builds a file from a header string and a data section of n bytes. */
    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        out.write(new byte[dataBytes]);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, out.toByteArray());
        return f;
    }

    private void rejects(Path f, String expected) {
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.open(f).close());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }

    @Test
    void rejectsFilesTooShortForAHeaderLength() throws IOException {
        Path f = dir.resolve("short");
        Files.write(f, new byte[]{1, 2, 3});
        rejects(f, "a header length needs 8");
    }

    @Test
    void rejectsAHugeHeaderLengthWithoutAllocating() throws IOException {
        Path f = dir.resolve("huge");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 62).array());
        rejects(f, "the header length is " + (1L << 62));
    }

    @ParameterizedTest(name = "{2}")
    @CsvSource(delimiter = '|', value = {
            "not json at all|0|not valid JSON",
            "[1, 2]|0|must be a JSON object",
            "{\"a\": 5}|0|tensor 'a' must be an object",
            "{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}|4|has no string 'dtype'",
            "{\"a\": {\"dtype\": \"Q8\", \"shape\": [1], \"data_offsets\": [0, 4]}}|4|has dtype 'Q8'",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}|4|sizes must be integers",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}|4|sizes must be integers",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}|4|needs 'data_offsets'",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 8]}}|4|outside the data section",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}|4|its data_offsets span 4 bytes",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [2, 6]}}|8|overlaps",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}|8|unused bytes [0, 4)",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}|12|the tensors cover 4",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}|4|not valid JSON",
            "{\"__metadata__\": {\"k\": 1}}|0|must be a string",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [2147483647, 2147483647, 2147483647], \"data_offsets\": [0, 4]}}|4|too many",
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}|4|not a non-negative integer",
    })
    void rejectsMalformedHeaders(String header, int dataBytes, String expected) throws IOException {
        rejects(file(header, dataBytes), expected);
    }

    @Test
    void rejectsBoolBytesOtherThanZeroAndOne() throws IOException {
        Path f = file("{\"m\": {\"dtype\": \"BOOL\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 0);
        Files.write(f, new byte[]{1, 7}, java.nio.file.StandardOpenOption.APPEND);
        try (SafeTensors st = SafeTensors.open(f)) {
            SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> st.load("m"));
            assertTrue(e.getMessage().contains("holds byte 7"), e.getMessage());
        }
    }

    @Test
    void unknownNameIsAClearError() throws IOException {
        Path f = dir.resolve("one.safetensors");
        SafeTensors.save(f, Map.of("w", Tensor.ones(2)), null);
        try (SafeTensors st = SafeTensors.open(f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> st.load("v"));
            assertTrue(e.getMessage().contains("no tensor 'v'"), e.getMessage());
        }
    }
}
