// Types for @wsgate/client/node (src/node-probe.js, dist/node-probe.cjs). Node.js only.
import type { HandshakeProbe } from './client.js';

export interface NodeProbeOptions {
  /** Milliseconds before the probe gives up (undefined status). Default 5000. */
  timeout?: number;
  /** Extra request headers (an Authorization the app's $connect reads, say). */
  headers?: Record<string, string>;
}

/** A probe that repeats the upgrade request with node:http and resolves with its status. */
export function nodeHandshakeProbe(options?: NodeProbeOptions): HandshakeProbe;
