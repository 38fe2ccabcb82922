/** The source of the current time, in ms since the epoch; inject one in tests instead of faking global timers. @public */
export type Clock = () => number;

/** The default clock. The only place the SDK reads the system time. */
export const systemClock: Clock = () => Date.now();
