/**
 * The wire contract (see docs/PROTOCOL.md): frame types, validation of what
 * clients send, and the helpers every side needs (ids, names, rooms, text).
 *
 * This module has no imports at all, so that the web client and the load-test
 * tool can import it too.
 */
export const PROTOCOL_VERSION = 1;

/** Stable error codes, shared by sockets and HTTP. */
export const ErrorCode = {
  badRequest: 'bad_request',
  notJoined: 'not_joined',
  rateLimited: 'rate_limited',
  tooLarge: 'too_large',
  unauthorized: 'unauthorized',
  notFound: 'not_found',
  /** v2: the caller may not do this in this room (HTTP 403). */
  forbidden: 'forbidden',
  /** v2: the thing already exists (HTTP 409), e.g. creating a room that exists. */
  conflict: 'conflict',
  internal: 'internal',
  unavailable: 'unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the server uses, and what a client should do. */
export const CloseCode = {
  normal: 1000,
  /** Token expired mid-session: log in again. */
  policyViolation: 1008,
  /** Frame over the size limit. */
  tooBig: 1009,
  /** Graceful shutdown of the replica: reconnect (to another one) and resume. */
  serviceRestart: 1012,
  /** Overload or slow consumer: reconnect later and resume with `since`. */
  tryAgainLater: 1013,
} as const;

export const LIMITS = {
  /** Largest accepted WebSocket frame, in bytes. */
  maxFrameBytes: 64 * 1024,
  /** Longest message text, in code points, after trimming. */
  maxTextCodePoints: 4000,
  maxNameCodePoints: 32,
  maxRefLength: 64,
  /** Messages replayed on a join without `since`. */
  defaultReplay: 50,
  defaultPageSize: 50,
  maxPageSize: 100,
} as const;

/**
 * WebSocket subprotocols (v2): a client offers `roomcast` and
 * `roomcast.bearer.<JWT>`, so the token travels in the Sec-WebSocket-Protocol
 * header instead of the URL (URLs end up in proxy logs). The server selects
 * `roomcast`, never echoing the token. `?token=` in the URL stays as a legacy (v1) path.
 */
export const WS_SUBPROTOCOL = 'roomcast';
export const WS_TOKEN_PROTOCOL_PREFIX = 'roomcast.bearer.';

export const ROOM_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** `<ms>-<seq>`, both decimal integers without leading zeros, as Redis stream ids. */
export const MESSAGE_ID_PATTERN = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$/;

export interface User {
  id: string;
  name: string;
}

/** v2: a user's role in a room. */
export type Role = 'owner' | 'admin' | 'member';
export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];
/** Room names starting with this are direct-message rooms: always private, made only by `POST /api/dm`. */
export const DM_PREFIX = 'dm-';

// ---------------------------------------------------------------- client frames
// Validated by the schemas in realtime/schemas.ts, which are checked against
// these types at compile time. They live apart so that browsers importing this
// module do not ship the validator.

export interface JoinFrame {
  type: 'join';
  room: string;
  since?: string;
  /** v2: the `joined.epoch` the client saw when it got `since`. */
  epoch?: string;
  ref?: string;
}
export interface LeaveFrame {
  type: 'leave';
  room: string;
  ref?: string;
}
/** Text length is checked after trimming (see normalizeText), not by the schema. */
export interface SendFrame {
  type: 'send';
  room: string;
  text: string;
  ref?: string;
}
export interface TypingFrame {
  type: 'typing';
  room: string;
  ref?: string;
}
export interface PingFrame {
  type: 'ping';
  ref?: string;
}
export type ClientFrame = JoinFrame | LeaveFrame | SendFrame | TypingFrame | PingFrame;
export type ClientFrameType = ClientFrame['type'];

// ---------------------------------------------------------------- server frames

export interface ChatMessage {
  type: 'message';
  room: string;
  id: string;
  ts: number;
  user: User;
  text: string;
  ref?: string;
}

export interface WelcomeFrame {
  type: 'welcome';
  user: User;
  connectionId: string;
  node: string;
  protocol?: number;
}
export interface JoinedFrame {
  type: 'joined';
  room: string;
  users: User[];
  truncated: boolean;
  /** v2: the incarnation of the room's log; send it back with `since` when resuming. */
  epoch: string;
  ref?: string;
}
export interface PresenceFrame {
  type: 'presence';
  room: string;
  joined: User[];
  left: User[];
}
export interface TypingEvent {
  type: 'typing';
  room: string;
  user: User;
}
export interface PongFrame {
  type: 'pong';
  ref?: string;
}
export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  ref?: string;
}
/** v2: the user was removed from the room; nothing more of it follows on this socket. */
export interface RemovedFrame {
  type: 'removed';
  room: string;
}
/**
 * Extension: sent to every socket of a user who was added to a private room
 * (created with them as a member, a DM started with them, or made a member),
 * so that clients can list it without polling.
 */
export interface AddedFrame {
  type: 'added';
  room: RoomInfo;
  /** Who added the user. */
  by: User;
}
export type ServerFrame =
  | WelcomeFrame
  | RemovedFrame
  | AddedFrame
  | JoinedFrame
  | ChatMessage
  | PresenceFrame
  | TypingEvent
  | PongFrame
  | ErrorFrame;

export interface MessagesPage {
  messages: ChatMessage[];
}
export interface PresenceList {
  users: User[];
}
/** v2: a room as the caller sees it. */
export interface RoomInfo {
  name: string;
  private: boolean;
  /** The caller's role; absent when the caller is not a member (a public room). */
  role?: Role;
  /** Extension, for a DM: the other member's id. */
  peer?: string;
}
/** `POST /api/rooms`, `POST /api/dm`. */
export interface RoomResponse {
  room: RoomInfo;
}
export interface CreateRoomRequest {
  name: string;
  private?: boolean;
  members?: string[];
}
export interface MemberEntry {
  id: string;
  role: Role;
  /** Extension: the member's display name, when the server has seen it. */
  name?: string;
}
export interface RoomsList {
  rooms: RoomInfo[];
}
export interface MembersList {
  members: MemberEntry[];
}
/** `GET /api/auth/config`: how the web client signs in. */
export interface AuthConfigResponse {
  /** `POST /api/login` is open (a demo or development setting). */
  guestLogin: boolean;
  /** OpenID Connect sign-in (authorization code + PKCE), when configured. */
  oidc: { issuer: string; clientId: string; scope: string } | null;
}
export interface LoginResponse {
  token: string;
  user: User;
}
export interface HttpErrorBody {
  error: { code: ErrorCode; message: string };
}

// ---------------------------------------------------------------- helpers

const EDGE_WHITE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

/**
 * Trims Unicode white space (the White_Space property, which also covers
 * U+0085 NEXT LINE, unlike String.prototype.trim).
 */
export function normalizeText(text: string): string {
  return text.replace(EDGE_WHITE_SPACE, '');
}

/**
 * The one text rule of messages, for sockets and HTTP alike: trimmed of
 * Unicode white space, not blank, at most 4000 code points.
 */
export function validateText(
  raw: unknown,
): { ok: true; text: string } | { ok: false; code: typeof ErrorCode.badRequest | typeof ErrorCode.tooLarge; message: string } {
  if (typeof raw !== 'string') return { ok: false, code: ErrorCode.badRequest, message: 'text must be a string' };
  const text = normalizeText(raw);
  if (text === '') return { ok: false, code: ErrorCode.badRequest, message: 'text is blank' };
  if (codePointLength(text) > LIMITS.maxTextCodePoints) {
    return { ok: false, code: ErrorCode.tooLarge, message: `text is longer than ${LIMITS.maxTextCodePoints} characters` };
  }
  return { ok: true, text };
}

export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Characters a name may not contain, in the order they are checked, each with
 * what the error calls it. Invisible and format characters (zero-width space,
 * soft hyphen, bidi controls...) would let "alice\u200b" pose as "alice";
 * the others cannot be displayed reliably.
 */
const FORBIDDEN_IN_NAME: ReadonlyArray<readonly [RegExp, string]> = [
  [/\p{Cc}/u, 'a control character'],
  [/\p{Cs}/u, 'a lone surrogate'],
  [/[\p{Cf}\p{Default_Ignorable_Code_Point}]/u, 'an invisible character'],
  [/[\p{Zl}\p{Zp}]/u, 'a line or paragraph separator'],
  [/\p{Co}/u, 'a private-use character'],
  [/\p{Cn}/u, 'an unassigned character'],
];

/**
 * Emoji sequences legitimately use two invisible characters: U+FE0F (emoji
 * presentation, which phone keyboards add to "❤️") and U+200D between emoji
 * ("👩‍💻"). They are allowed there only, so that such names are not refused
 * for an invisible character the user never typed. Skin tones (U+1F3FB..FF)
 * may sit between the emoji and the joiner.
 */
const EMOJI_JOINER = /(\p{Extended_Pictographic}[\u{1F3FB}-\u{1F3FF}]?\u{FE0F}?)\u{200D}(?=\p{Extended_Pictographic})/gu;
const EMOJI_PRESENTATION = /(\p{Extended_Pictographic})\u{FE0F}/gu;

/** Scripts whose letters look alike: a name may use letters of one of them only. */
const CONFUSABLE_SCRIPTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\p{Script=Latin}/u, 'Latin'],
  [/\p{Script=Cyrillic}/u, 'Cyrillic'],
  [/\p{Script=Greek}/u, 'Greek'],
];

/** `U+200B`: how errors name a character. */
function codePointLabel(char: string): string {
  return 'U+' + char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
}

/** What is wrong with the characters of an already trimmed and normalized name, if anything. */
function nameCharacterProblem(name: string): string | undefined {
  const outsideEmoji = name.replace(EMOJI_JOINER, '$1').replace(EMOJI_PRESENTATION, '$1');
  for (const [pattern, what] of FORBIDDEN_IN_NAME) {
    const found = pattern.exec(outsideEmoji);
    if (found) return `name contains ${what} ${codePointLabel(found[0])}`;
  }
  const scripts = CONFUSABLE_SCRIPTS.filter(([pattern]) => pattern.test(name)).map(([, script]) => script);
  if (scripts.length > 1) return `name mixes ${scripts.join(' and ')} letters (a look-alike character?)`;
  return undefined;
}

/**
 * Normalizes a name and checks it; returns the name or an error message.
 * Used for every name the server accepts (guest login, token claims) and by
 * the web client's login form. Trims Unicode white space and applies NFKC, so
 * that "alice " and fullwidth "ａｌｉｃｅ" are both "alice"; then 1-32 code
 * points, no control, invisible, separator, private-use, unassigned or lone
 * surrogate character, and no mix of Latin, Cyrillic and Greek letters (the
 * look-alikes of "аlice" with a Cyrillic а).
 */
export function validateName(raw: unknown): { ok: true; name: string } | { ok: false; message: string } {
  if (typeof raw !== 'string') return { ok: false, message: 'name must be a string' };
  // Trimmed again after NFKC, which turns some characters into a space and a mark (U+00A8 is " \u0308").
  const name = normalizeText(normalizeText(raw).normalize('NFKC'));
  const length = codePointLength(name);
  if (length < 1) return { ok: false, message: 'name is blank' };
  if (length > LIMITS.maxNameCodePoints) return { ok: false, message: `name is longer than ${LIMITS.maxNameCodePoints} characters` };
  const problem = nameCharacterProblem(name);
  return problem === undefined ? { ok: true, name } : { ok: false, message: problem };
}

/** User ids are opaque: 1-128 characters, none of them control, format or line-separator characters. */
export const MAX_USER_ID_LENGTH = 128;
const BAD_ID_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export function isUserId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= MAX_USER_ID_LENGTH && !BAD_ID_CHARACTER.test(id);
}

export function isRoomName(room: unknown): room is string {
  return typeof room === 'string' && ROOM_PATTERN.test(room);
}

/** The id just before `id` (ids are dense: ms-seq, seq from 0). For "everything after" bounds. */
export function previousId(id: string): string {
  const dash = id.indexOf('-');
  const ms = BigInt(id.slice(0, dash));
  const seq = BigInt(id.slice(dash + 1));
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-${U64_MAX}` : '0-0';
}

/** Each part of an id is an unsigned 64-bit integer, as in Redis. */
const U64_MAX = '18446744073709551615';
/** The largest message id there can be. */
export const MAX_ID = `${U64_MAX}-${U64_MAX}`;

/** A canonical id whose parts fit in 64 bits. */
export function isMessageId(id: unknown): id is string {
  if (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id)) return false;
  const dash = id.indexOf('-');
  return compareDecimal(id.slice(0, dash), U64_MAX) <= 0 && compareDecimal(id.slice(dash + 1), U64_MAX) <= 0;
}

/**
 * Orders two message ids numerically, `ms` first, then `seq`.
 * Ids are canonical (no leading zeros), so a longer number is a larger one.
 */
export function compareIds(a: string, b: string): number {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  return compareDecimal(a.slice(0, da), b.slice(0, db)) || compareDecimal(a.slice(da + 1), b.slice(db + 1));
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
