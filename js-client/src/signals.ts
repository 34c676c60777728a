// AbortSignal plumbing: hook once, unhook on every way out, and count what is hooked so
// tests (and stats()) can see that nothing is left behind.

/** Counts live abort listeners of one connection. */
export class Hooks {
  /** Listeners currently attached. */
  live = 0;

  /**
   * Calls `onAbort(reason)` once when `signal` aborts. Returns the unhook function,
   * which is idempotent. An already-aborted signal calls `onAbort` synchronously.
   */
  hook(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void {
    if (!signal) return noop;
    if (signal.aborted) { onAbort(signal.reason); return noop; }
    let hooked = true;
    const listener = (): void => { unhook(); onAbort(signal.reason); };
    const unhook = (): void => {
      if (!hooked) return;
      hooked = false;
      this.live--;
      signal.removeEventListener('abort', listener);
    };
    this.live++;
    signal.addEventListener('abort', listener, { once: true });
    return unhook;
  }
}

function noop(): void {}
