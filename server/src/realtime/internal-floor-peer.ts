/**
 * NOT PUBLIC API: `@roomcast/server/internal/floor-peer` exists only for the
 * load-test floor peer (loadtest/peer/floor-server.ts), which must frame and
 * write broadcasts exactly the way Roomcast does to stay a lower bound of it.
 * Nothing else may import it; it changes whenever the broadcast path does.
 */
export { textFrame } from './framing.js';
export { framedTarget, writeFrame } from './write-frame.js';
