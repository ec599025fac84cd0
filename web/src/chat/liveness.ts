/**
 * Client pings on the socket. A half-open connection (a dead NAT entry, a
 * laptop waking up) never closes by itself: without a pong in time we give
 * up on it and reconnect.
 */
export class Liveness {
  private interval: ReturnType<typeof setInterval> | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** `ping` sends a ping and says whether it could; `onDead` runs once if no pong comes back. */
  start(ping: () => boolean, onDead: () => void): void {
    this.stop();
    if (this.intervalMs <= 0) return;
    this.interval = setInterval(() => {
      if (this.deadline !== null || !ping()) return;
      this.deadline = setTimeout(() => {
        this.deadline = null;
        onDead();
      }, this.timeoutMs);
    }, this.intervalMs);
  }

  pong(): void {
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = null;
  }

  stop(): void {
    if (this.interval !== null) clearInterval(this.interval);
    this.pong();
    this.interval = null;
  }
}
