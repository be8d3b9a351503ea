// TLS session ticket keys, one set for the load balancer and one for the
// proxy's HTTPS listeners: made by the primary and sent to every worker that
// uses them (in its init message, and again at each rotation), so a session
// ticket (TLS 1.2) or PSK (TLS 1.3) that one worker issued resumes on
// whichever worker the kernel hands the next connection to. They live in memory only and are never logged. Rotated on a timer, so
// a leaked key opens at most one period of resumed sessions; a client still
// holding a ticket of the previous key gets one full handshake.

import { randomBytes } from 'node:crypto';

export const TICKET_KEY_ROTATION_MS = 60 * 60 * 1000;
/** A period outside these is refused (a timer cannot run longer than ~24 days anyway). */
export const ROTATION_LIMITS_MS = { min: 1000, max: 24 * 60 * 60 * 1000 };

export class TicketKeys {
  #current = randomBytes(48);
  readonly #timer: NodeJS.Timeout;

  constructor(periodMs: number, onRotate: (keys: Buffer) => void) {
    if (!(periodMs >= ROTATION_LIMITS_MS.min && periodMs <= ROTATION_LIMITS_MS.max)) {
      throw new Error(`TLS ticket key rotation period must be 1s to 24h, got ${periodMs} ms`);
    }
    this.#timer = setInterval(() => {
      this.#current = randomBytes(48);
      onRotate(this.#current);
    }, periodMs);
    this.#timer.unref();
  }

  get current(): Buffer {
    return this.#current;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
