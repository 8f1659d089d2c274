/**
 * The one interface every client kind implements, so each measurement is written once and runs the
 * same code against raw ws, raw ws + a bare actor, and the library.
 */
export interface BenchConnection {
  /** Sends one text message. */
  send(data: string): void;
  /** Registers the message listener (called once per connection). The payload is not touched. */
  onMessage(listener: (data: unknown) => void): void;
  /** Starts a clean close (1000) and resolves at the final close notification. */
  close(): Promise<void>;
}

export interface ClientKind {
  /** Connects and resolves once the connection is open. */
  connect(url: string): Promise<BenchConnection>;
}

/** What M6 needs from a kind: per-connection actor cost, and (optionally) the pure machine. */
export interface MachineCost {
  /** Creates, starts and stops the actor one connection would hold. */
  createAndStopActor(): void;
  /** Creates one whole connection object, never opened, and closes it (no socket). */
  createAndCloseConnection?(): void;
  /** A pure `transition()` step through a realistic lifecycle; returns the final state value. */
  lifecycle?: {
    /** Runs the whole event sequence once from the initial snapshot; returns the final snapshot value. */
    run(): unknown;
    /** Number of events `run()` sends. */
    events: number;
  };
}
