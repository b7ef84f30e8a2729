package dev.flare.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** An ordered list of submodules named 0, 1, 2, ... (so parameters read h.0.attn..., as GPT-2). */
public final class ModuleList<M extends Module> extends Module {
    private final List<M> items = new ArrayList<>();

    public M add(M module) {
        registerModule(Integer.toString(items.size()), module);
        items.add(module);
        return module;
    }

    public M get(int i) { return items.get(i); }

    public int size() { return items.size(); }

    public List<M> asList() { return Collections.unmodifiableList(items); }
}
