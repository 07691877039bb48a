import { z } from 'zod';
import { serializedErrorSchema, type SerializedError } from './errors';

/** Envelope every call answers with, over Electron IPC and over the WebSocket. */
export type CallResult<T = unknown> = { ok: true; value: T } | { ok: false; error: SerializedError };

/** A request frame sent by the WebSocket client. */
export const requestFrameSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  service: z.string().max(64),
  method: z.string().max(64),
  payload: z.unknown(),
});
export type RequestFrame = z.infer<typeof requestFrameSchema>;

/** A frame sent by the bridge: a reply to a request or a pushed event. */
export const serverFrameSchema = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), value: z.unknown() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: serializedErrorSchema }),
  z.object({ event: z.string(), payload: z.unknown() }),
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;

/** Name of the WebSocket path and of the subprotocol prefix that carries the token. */
export const WS_PATH = '/api';
export const TOKEN_PROTOCOL_PREFIX = 'fieldcal-token.';
