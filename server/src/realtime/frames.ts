import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import {
  ErrorCode,
  LIMITS,
  isMessageId,
  validateText,
  type ClientFrame,
  type ClientFrameType,
} from '../protocol.js';
import { ClientFrameSchemas } from './schemas.js';

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; code: ErrorCode; message: string; ref?: string };

const checks = Object.fromEntries(
  Object.entries(ClientFrameSchemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
) as Record<ClientFrameType, TypeCheck<TSchema>>;

const fail = (code: ErrorCode, message: string, ref?: string): ParseResult =>
  ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };

/**
 * Turns untrusted socket input into a typed frame, or says what is wrong with
 * it. Send text comes back trimmed. Size limits on the whole frame are
 * enforced earlier, by the WebSocket server's maxPayload.
 */
export function parseClientFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ParseResult {
  if (isBinary) return fail(ErrorCode.badRequest, 'binary frames are not accepted: send JSON text');
  let value: unknown;
  try {
    value = JSON.parse(toText(data));
  } catch {
    return fail(ErrorCode.badRequest, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(ErrorCode.badRequest, 'frame must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const ref = record.ref;
  if (ref !== undefined && (typeof ref !== 'string' || ref.length < 1 || ref.length > LIMITS.maxRefLength)) {
    return fail(ErrorCode.badRequest, `ref must be a string of 1-${LIMITS.maxRefLength} characters`);
  }
  const type = record.type;
  if (typeof type !== 'string' || !Object.hasOwn(checks, type)) {
    return fail(ErrorCode.badRequest, `unknown frame type ${JSON.stringify(type)}`, ref);
  }
  const check = checks[type as ClientFrameType];
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    const where = first?.path ? first.path.slice(1) : 'frame';
    return fail(ErrorCode.badRequest, `${type}: ${where} ${describe(first?.message)}`, ref);
  }
  const frame = value as ClientFrame;
  if (frame.type === 'send') {
    const checked = validateText(frame.text);
    if (!checked.ok) return fail(checked.code, checked.message, ref);
    frame.text = checked.text;
  }
  if (frame.type === 'join' && frame.since !== undefined && !isMessageId(frame.since)) {
    return fail(ErrorCode.badRequest, 'join: since must be a message id whose parts fit in 64 bits', ref);
  }
  return { ok: true, frame };
}

function describe(message: string | undefined): string {
  return (message ?? 'is invalid').replace(/^Expected/, 'expected');
}

function toText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
