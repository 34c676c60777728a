/** Counts live abort listeners of one connection. */
export declare class Hooks {
    /** Listeners currently attached. */
    live: number;
    /**
     * Calls `onAbort(reason)` once when `signal` aborts. Returns the unhook function,
     * which is idempotent. An already-aborted signal calls `onAbort` synchronously.
     */
    hook(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void;
}
