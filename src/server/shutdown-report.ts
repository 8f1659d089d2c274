/**
 * The shutdown's report: each connection's outcome counted once, by kind and by Close code. The counts
 * come from the connections' own `CloseInfo`, never from what the shutdown asked for.
 */
import type { CloseInfo } from '../../machines/types.js';
import type { ShutdownProgress } from './options.js';

/** What `shutdown` resolves with. */
export interface ShutdownReport {
  /** Connections the shutdown closed: those open or closing when it began. `clean + unclean + terminated`. */
  total: number;
  /** Close frames went both ways (`CloseInfo.wasClean`): the client saw our Close and answered it. */
  clean: number;
  /** Ended by the client or the network before the handshake completed (TCP lost, protocol error). */
  unclean: number;
  /**
   * Cut at a deadline without a completed handshake: our Close not written within `write` (a client
   * that stopped reading), the client's Close not in within `read` (a silent client), or still running
   * at `write + read` (a connection adopted with longer deadlines).
   */
  terminated: number;
  /** From the call to the server being closed, in ms. */
  durationMs: number;
  /** Outcomes by `CloseInfo.code`: the client's Close code, 1005 for a Close without one, 1006 for none. */
  byCode: Record<number, number>;
}

/** How one connection ended, for the report. */
export type OutcomeKind = 'clean' | 'unclean' | 'terminated';

/**
 * Clean wins: a connection whose Close frames went both ways was clean for the client too, even if we
 * cut a TCP connection the client never ended. Otherwise a deadline of ours, or the shutdown's own
 * cut-off, makes it terminated; anything else the client or the network did.
 */
export function outcomeKind(info: CloseInfo, cutByShutdown: boolean): OutcomeKind {
  if (info.wasClean) return 'clean';
  if (cutByShutdown) return 'terminated';
  const code = info.error?.code;
  return code === 'ERR_WRITE_DEADLINE' || code === 'ERR_READ_DEADLINE' ? 'terminated' : 'unclean';
}

/** Counts outcomes as they come; reports progress to an optional observer. */
export class Tally {
  total = 0;
  clean = 0;
  unclean = 0;
  terminated = 0;
  readonly byCode: Record<number, number> = {};

  constructor(
    readonly startedAt: number,
    readonly onProgress: ((progress: ShutdownProgress) => void) | undefined,
  ) {}

  get closed(): number {
    return this.clean + this.unclean + this.terminated;
  }

  count(info: CloseInfo, cutByShutdown: boolean): void {
    this[outcomeKind(info, cutByShutdown)]++;
    this.byCode[info.code] = (this.byCode[info.code] ?? 0) + 1;
    this.progress();
  }

  progress(): void {
    const onProgress = this.onProgress;
    if (!onProgress) return;
    const closed = this.closed;
    const progress: ShutdownProgress = {
      total: this.total,
      closed,
      clean: this.clean,
      unclean: this.unclean,
      terminated: this.terminated,
      pending: this.total - closed,
      elapsedMs: Math.round((performance.now() - this.startedAt) * 1000) / 1000,
    };
    try {
      onProgress(progress);
    } catch (error) {
      // The caller's bug surfaces, outside our call stack; the shutdown goes on.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  report(): ShutdownReport {
    return {
      total: this.total,
      clean: this.clean,
      unclean: this.unclean,
      terminated: this.terminated,
      durationMs: Math.round((performance.now() - this.startedAt) * 1000) / 1000,
      byCode: { ...this.byCode },
    };
  }
}
