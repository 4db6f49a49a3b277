/** The BGP finite state machine, OPEN negotiation, collision detection and NOTIFICATION names. */
export * from './machine.js';
export * from './open.js';
export * from './collision.js';
export * from './notification.js';
