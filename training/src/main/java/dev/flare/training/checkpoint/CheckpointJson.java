package dev.flare.training.checkpoint;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.flare.tensor.Device;
import dev.flare.training.Precision;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The JSON mapping of trainer.json: records by their component names; devices ("cpu", "cuda:0"), paths and
 * precisions ("bf16") as strings. Reading is strict: an unknown or missing field is an error, not a default.
 */
public final class CheckpointJson {
    private CheckpointJson() {}

    public static final ObjectMapper MAPPER = create();

    private static ObjectMapper create() {
        SimpleModule m = new SimpleModule("flare-checkpoint");
        m.addSerializer(Device.class, toStringSerializer());
        m.addDeserializer(Device.class, fromString(Device::parse));
        m.addSerializer(Path.class, toStringSerializer());
        m.addDeserializer(Path.class, fromString(Path::of));
        m.addSerializer(Precision.class, toStringSerializer());
        m.addDeserializer(Precision.class, fromString(Precision::parse));
        return new ObjectMapper().registerModule(m)
                .enable(SerializationFeature.INDENT_OUTPUT)
                .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    private static <T> JsonSerializer<T> toStringSerializer() {
        return new JsonSerializer<>() {
            @Override
            public void serialize(T value, JsonGenerator gen, SerializerProvider p) throws IOException { gen.writeString(value.toString()); }
        };
    }

    private static <T> JsonDeserializer<T> fromString(java.util.function.Function<String, T> parse) {
        return new JsonDeserializer<>() {
            @Override
            public T deserialize(JsonParser p, DeserializationContext ctx) throws IOException { return parse.apply(p.getValueAsString()); }
        };
    }
}
