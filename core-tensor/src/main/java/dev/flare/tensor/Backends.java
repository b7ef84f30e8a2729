package dev.flare.tensor;

import dev.flare.tensor.cpu.CpuBackend;

import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Map;

/** Finds the backend for a device. The CPU backend is built in; CUDA backends come from a {@link Provider}. */
public final class Backends {
    private static final Map<Device, Backend> BACKENDS = new ConcurrentHashMap<>();

    private Backends() {}

    /** Creates the backend of a non-CPU device; found through {@link ServiceLoader}. */
    public interface Provider {
        Device.Type type();

        /** Creates the backend, or throws an exception that says why the device cannot be used. */
        Backend create(Device device);
    }

    public static Backend of(Device device) {
        if (device.isCpu()) return CpuBackend.INSTANCE;
        return BACKENDS.computeIfAbsent(device, Backends::create);
    }

    private static Backend create(Device device) {
        for (Provider p : ServiceLoader.load(Provider.class))
            if (p.type() == device.type()) return p.create(device);
        throw new IllegalStateException("device " + device + ": no backend for " + device.type()
                + " is on the class path");
    }
}
