package dev.flare.examples.cli;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Settings for a record's fields (TrainConfig, GPTConfig): the keys are the field names, so a field added to
 * the record becomes a setting without further code. The record's own constructor checks the values.
 */
final class RecordSettings {
    private RecordSettings() {}

    /** prefix + name of every field of type, except those in skip. */
    static List<String> keys(Class<? extends Record> type, String prefix, Set<String> skip) {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents())
            if (!skip.contains(c.getName()) && isScalar(c.getType())) out.add(prefix + c.getName());
        return out;
    }

    /** A copy of base with every field that settings holds under prefix + name replaced. */
    static <R extends Record> R apply(R base, String prefix, Settings settings) {
        RecordComponent[] cs = base.getClass().getRecordComponents();
        Object[] args = new Object[cs.length];
        try {
            for (int i = 0; i < cs.length; i++) {
                String key = prefix + cs[i].getName();
                args[i] = settings.has(key) ? settings.get(key, box(cs[i].getType()), null) : cs[i].getAccessor().invoke(base);
            }
            Class<?>[] types = Arrays.stream(cs).map(RecordComponent::getType).toArray(Class<?>[]::new);
            @SuppressWarnings("unchecked")
            R out = (R) base.getClass().getDeclaredConstructor(types).newInstance(args);
            return out;
        } catch (InvocationTargetException e) {          // the record refused a value: its message names the field
            if (e.getCause() instanceof IllegalArgumentException iae) throw new IllegalArgumentException(prefix + iae.getMessage());
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    // Device is a record but one setting ("cuda:1"), not a group of settings
    private static boolean isScalar(Class<?> t) { return t == dev.flare.tensor.Device.class || !Record.class.isAssignableFrom(t); }

    private static Class<?> box(Class<?> t) {
        if (t == int.class) return Integer.class;
        if (t == long.class) return Long.class;
        if (t == double.class) return Double.class;
        if (t == boolean.class) return Boolean.class;
        return t;
    }
}
