// Types for @wsgate/client (src/client.js, dist/client.cjs).

/** A WebSocket constructor: globalThis.WebSocket, or one from a library with the same API. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

export interface HandshakeProbeInfo {
  url: string;
  protocols?: string | string[];
}
/** Resolves with the HTTP status of a handshake to url, or undefined when it cannot tell. */
export type HandshakeProbe = (info: HandshakeProbeInfo) => Promise<number | undefined> | number | undefined;

export interface WsgateClientOptions {
  /** ws:// or wss:// URL, or a function returning one (called before every attempt). */
  url: string | (() => string | Promise<string>);
  /** Identity sent as a query parameter (tokenParam) on every attempt; a function is called each time. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Query parameter for token. Default "token". */
  tokenParam?: string;
  /** Subprotocols (Sec-WebSocket-Protocol), another place apps put an identity. */
  protocols?: string | string[];
  /** Default globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect delays in ms; the last one repeats. Default [2000, 5000, 10000]. */
  backoff?: number[];
  /** Each delay is spread uniformly over ±jitter (a fraction). Default 0.2. */
  jitter?: number;
  /** Random source in [0, 1) for the jitter and request ids. Default Math.random. */
  random?: () => number;
  /** Messages kept while not open; send throws QUEUE_FULL past it. Default 100. */
  queueLimit?: number;
  /** Close codes (from an open connection) after which the client stops. Default [1008]. */
  stopCodes?: number[];
  /** Called after a handshake failed; a 401 or 403 stops the client. See README "What the client can know". */
  probe?: HandshakeProbe;
  /** Default timeout of request(), ms. Default 29000. */
  requestTimeout?: number;
  /** The field request() adds and expects echoed. Default "requestId". */
  requestIdField?: string;
  /** Aborting it closes the client with 1000 for good. */
  signal?: AbortSignal;
}

export interface OpenEvent { url: string; protocol: string }
export interface CloseEvent {
  code: number;
  reason: string;
  /** true if another attempt is scheduled. */
  willRetry: boolean;
  /** Milliseconds until the next attempt (when willRetry). */
  retryIn?: number;
  /** false when the handshake failed (the socket never opened). */
  wasOpen?: boolean;
  /** The handshake status a probe reported, when it stopped the client. */
  status?: number;
  /** A sentence saying what happened and what the client does next. */
  why: string;
}
export interface MessageEvent {
  /** string for text frames, ArrayBuffer for binary ones. */
  data: string | ArrayBuffer;
  /** The parsed JSON when data is a JSON object or array. */
  json?: unknown;
}
export interface ErrorEvent { error?: unknown; message: string }

export interface EventMap { open: OpenEvent; close: CloseEvent; message: MessageEvent; error: ErrorEvent }

export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface RequestOptions { timeout?: number; signal?: AbortSignal }

export class WsgateClient {
  constructor(options: WsgateClientOptions);
  readonly state: State;
  /** Why the client stopped for good. */
  readonly stopReason: string | undefined;
  readonly url: string | undefined;
  /** Messages waiting for the next open. */
  readonly queued: number;
  on<K extends keyof EventMap>(type: K, fn: (e: EventMap[K]) => void): () => void;
  off<K extends keyof EventMap>(type: K, fn: (e: EventMap[K]) => void): void;
  whenOpen(): Promise<void>;
  /** Strings and binary go as they are; anything else as JSON. Throws WsgateError QUEUE_FULL or CLOSED. */
  send(data: unknown): void;
  /** Sends {action, ...payload, requestId} and resolves with the JSON message echoing requestId. */
  request<T = any>(action: string, payload?: Record<string, unknown>, options?: RequestOptions): Promise<T>;
  close(code?: number, reason?: string): void;
}

export type WsgateErrorCode = 'QUEUE_FULL' | 'CLOSED' | 'TIMEOUT' | 'CONNECTION_LOST' | 'ABORTED' | 'NO_WEBSOCKET' | 'BAD_PAYLOAD';
export class WsgateError extends Error {
  readonly code: WsgateErrorCode;
}

export const DEFAULT_BACKOFF: number[];
export const DEFAULT_JITTER: number;
export const DEFAULT_QUEUE_LIMIT: number;
export const DEFAULT_REQUEST_TIMEOUT: number;
export const DEFAULT_STOP_CODES: number[];
export const STOP_STATUSES: number[];
