/**
 * The source of the current time, in milliseconds since the epoch. Inject one in tests instead of faking
 * global timers.
 *
 * @public
 */
export type Clock = () => number;

/** The default clock. The only place the SDK reads the system time. */
export const systemClock: Clock = () => Date.now();

/** Seconds since the epoch, as JWT claims want them. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}
