// Writing `logs` output: entries of one stream are gathered into one write (a log of millions of
// lines is not millions of write calls), the order between stdout and stderr is kept (a change
// of stream flushes), and a full pipe pauses the reader until it drains, so memory stays bounded
// however large the log and however slow the reader of the output.
import type { Writable } from 'node:stream';

const MAX = 64 * 1024;

export class LogsOutput {
  private parts: string[] = [];
  private size = 0;
  private to: Writable | undefined;
  private timer: NodeJS.Immediate | undefined;
  /** Set while a destination is full: resolved on its 'drain' (or close/error). */
  private blocked: Promise<void> | undefined;

  constructor(
    private readonly out: Writable,
    private readonly err: Writable,
  ) {}

  /** Queues text; resolves at once unless a destination is full (then once it drained). */
  async write(stream: 'stdout' | 'stderr', text: string): Promise<void> {
    if (this.blocked) await this.blocked;
    const to = stream === 'stderr' ? this.err : this.out;
    if (to !== this.to) this.flushNow();
    this.to = to;
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= MAX) this.flushNow();
    // when the reader waits for more (following), what is gathered goes out meanwhile
    else this.timer ??= setImmediate(() => {
      this.timer = undefined;
      if (!this.blocked) this.flushNow();
    });
    if (this.blocked) await this.blocked;
  }

  /** Writes what is gathered and waits until the destination took it. */
  async flush(): Promise<void> {
    if (this.blocked) await this.blocked;
    this.flushNow();
    if (this.blocked) await this.blocked;
  }

  private flushNow(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    const to = this.to;
    if (!to || !this.parts.length) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (to.write(text) || to.destroyed || this.blocked) return;
    this.blocked = new Promise<void>((res) => {
      const done = () => {
        to.off('drain', done);
        to.off('close', done);
        to.off('error', done);
        this.blocked = undefined;
        res();
      };
      to.on('drain', done);
      to.on('close', done);
      to.on('error', done);
    });
  }
}
