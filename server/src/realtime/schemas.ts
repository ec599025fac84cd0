import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  LIMITS,
  MESSAGE_ID_PATTERN,
  ROOM_PATTERN,
  type ClientFrameType,
  type JoinFrame,
  type LeaveFrame,
  type PingFrame,
  type SendFrame,
  type TypingFrame,
} from '../protocol.js';

const Ref = Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.maxRefLength }));
const Room = Type.String({ pattern: ROOM_PATTERN.source });

const Join = Type.Object({
  type: Type.Literal('join'),
  room: Room,
  since: Type.Optional(Type.String({ pattern: MESSAGE_ID_PATTERN.source })),
  epoch: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ref: Ref,
});
const Leave = Type.Object({ type: Type.Literal('leave'), room: Room, ref: Ref });
const Send = Type.Object({ type: Type.Literal('send'), room: Room, text: Type.String(), ref: Ref });
const Typing = Type.Object({ type: Type.Literal('typing'), room: Room, ref: Ref });
const Ping = Type.Object({ type: Type.Literal('ping'), ref: Ref });

/** The JSON Schema of every client frame, by type. */
export const ClientFrameSchemas: Record<ClientFrameType, TSchema> = {
  join: Join,
  leave: Leave,
  send: Send,
  typing: Typing,
  ping: Ping,
};

// The schemas and the protocol's types must describe the same frames: this
// fails to compile when one changes without the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemasMatchTypes: [
  Same<Static<typeof Join>, JoinFrame>,
  Same<Static<typeof Leave>, LeaveFrame>,
  Same<Static<typeof Send>, SendFrame>,
  Same<Static<typeof Typing>, TypingFrame>,
  Same<Static<typeof Ping>, PingFrame>,
] = [true, true, true, true, true];
void schemasMatchTypes;
