// Shared by the Node tests.
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import type { Client } from '../src/client.js';

/** js-client/ (the runner sets SLUICE_JS_ROOT); the repository root is its parent. */
export function jsRoot(): string {
  return process.env.SLUICE_JS_ROOT ?? resolve(dirname(new URL(import.meta.url).pathname), '..');
}
export function repoRoot(): string {
  return resolve(jsRoot(), '..');
}

export function fromHex(h: string): Uint8Array {
  const clean = h.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array | null | undefined): string => (b ? new TextDecoder().decode(b) : '');

/** Timers and handles that Node still holds. */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/**
 * The end-of-test leak check: no stream, abort listener or timer left on the client, and
 * (after close) no timer left in the process.
 */
export async function assertNoLeaks(client: Client, opts: { processTimers?: boolean } = {}): Promise<void> {
  // Let pending microtasks (iterator returns, drains) settle.
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  const s = client.stats();
  assert.equal(s.streams, 0, `streams left: ${JSON.stringify(s.perStream)}`);
  assert.equal(s.listeners, 0, 'abort listeners left');
  await client.close();
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  const after = client.stats();
  assert.equal(after.timers, 0, 'client timers left');
  assert.equal(after.listeners, 0, 'abort listeners left after close');
  // With a server in the same process its own timers count too: then only the client's are checked.
  if (opts.processTimers !== false) assert.equal(activeTimers(), 0, `process timers left: ${process.getActiveResourcesInfo().join(',')}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
