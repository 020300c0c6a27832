/** The BGP FSM (RFC 4271 §8): a pure step function plus the clock it is driven by. */
export * from './types.js';
export { step, CeaseSubcode } from './step.js';
export { negotiateHoldTime, negotiateSession } from './negotiate.js';
export { restartDelayMs, DEFAULT_IDLE_HOLD } from './backoff.js';
export { collisionWinner, compareBgpIds, meshPassive } from './collision.js';
export { systemClock, type Clock } from './clock.js';
export { FakeClock } from './fake-clock.js';
