package dev.flare.attention;

/** Where the causal diagonal sits when the query and key lengths differ. */
public enum CausalAlignment {
    /** Query i attends keys j &lt;= i (PyTorch's {@code is_causal}). */
    TOP_LEFT,
    /** Query i attends keys j &lt;= i + Sk - Sq: the last query is aligned with the last key (KV-cache decoding). */
    BOTTOM_RIGHT;

    /** The shift added to the query index: key j is visible to query i iff j &lt;= i + shift. */
    public int shift(int sq, int sk) { return this == TOP_LEFT ? 0 : sk - sq; }
}
