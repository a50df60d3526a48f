/**
 * Socket and timer callbacks of the package: whatever a datagram makes them do, nothing thrown inside may
 * escape (an exception in a socket or timer callback ends Node-RED).
 */

/** fn, but an exception goes to onError (itself guarded) instead of the event loop. */
export function guarded<A extends unknown[]>(
  fn: (...args: A) => void,
  onError: (e: unknown) => void = () => undefined,
): (...args: A) => void {
  return (...args: A): void => {
    try {
      fn(...args);
    } catch (e) {
      try {
        onError(e);
      } catch {
        // an error handler that throws must not escape either
      }
    }
  };
}

/** A datagram source that can be answered: UDP port 0 is no valid destination (send() throws ERR_SOCKET_BAD_PORT). */
export function answerable(rinfo: { port: number }): boolean {
  return Number.isInteger(rinfo.port) && rinfo.port > 0 && rinfo.port <= 0xffff;
}
