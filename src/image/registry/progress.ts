// Progress of pulls and pushes: events per blob, and a renderer like docker's — a line per layer
// redrawn in place with a bar on a terminal, plain status lines otherwise (logs, CI).
import { humanSize } from '../format.js';

export type BlobStatus =
  // pull
  | 'waiting' | 'downloading' | 'verifying' | 'exists' | 'done'
  // push
  | 'preparing' | 'pushing' | 'mounted' | 'pushed' | 'remote-exists'
  // both
  | 'retrying';

export interface BlobProgress {
  kind: 'layer' | 'config';
  /** The first 12 hex digits of the digest, as docker shows it. */
  id: string;
  digest: string;
  status: BlobStatus;
  /** Bytes so far (downloading/pushing). */
  current?: number;
  total?: number;
  /** For "mounted": the repository it came from; for "retrying": why. */
  detail?: string;
}

export interface MessageProgress {
  kind: 'message';
  text: string;
}

export type ProgressEvent = BlobProgress | MessageProgress;
export type ProgressCallback = (e: ProgressEvent) => void;


/** docker's words for each status. */
export function statusText(e: BlobProgress): string {
  switch (e.status) {
    case 'waiting': return 'Waiting';
    case 'downloading': return 'Downloading';
    case 'verifying': return 'Verifying Checksum';
    case 'exists': return 'Already exists';
    case 'done': return e.kind === 'config' ? 'Download complete' : 'Pull complete';
    case 'preparing': return 'Preparing';
    case 'pushing': return 'Pushing';
    case 'mounted': return `Mounted from ${e.detail ?? ''}`.trim();
    case 'pushed': return 'Pushed';
    case 'remote-exists': return 'Layer already exists';
    case 'retrying': return `Retrying${e.detail ? ` (${e.detail})` : ''}`;
  }
}

/** `[=====>      ]  1.2MB/4.5MB` */
export function progressBar(current: number, total: number, width = 50): string {
  const frac = total > 0 ? Math.min(1, current / total) : 0;
  const filled = Math.floor(frac * width);
  const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}`;
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export interface RenderTarget {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Renders progress events to a stream. On a terminal every blob keeps its line, updated in place
 * (cursor moves as docker's jsonmessage does, at most every 100 ms per line); elsewhere each
 * status change prints one line and byte counts are not printed.
 */
export class ProgressRenderer {
  private readonly lines: string[] = [];
  private readonly last = new Map<string, { status: BlobStatus; at: number }>();
  readonly tty: boolean;

  constructor(private readonly out: RenderTarget = process.stderr, opts: { tty?: boolean } = {}) {
    this.tty = opts.tty ?? out.isTTY === true;
  }

  /** The callback to hand to pull/push. */
  readonly callback: ProgressCallback = (e) => this.handle(e);

  handle(e: ProgressEvent): void {
    if (e.kind === 'message') {
      this.out.write(`${e.text}\n`);
      if (this.tty) this.lines.length = 0; // lines above a message are final
      return;
    }
    if (e.kind === 'config') return; // docker shows layers only
    const prev = this.last.get(e.id);
    const now = Date.now();
    const active = e.status === 'downloading' || e.status === 'pushing';
    if (!this.tty) {
      if (prev?.status === e.status) return;
      this.last.set(e.id, { status: e.status, at: now });
      this.out.write(`${e.id}: ${statusText(e)}\n`);
      return;
    }
    if (prev?.status === e.status && active && now - prev.at < 100 && e.current !== e.total) return;
    this.last.set(e.id, { status: e.status, at: now });
    let text = `${e.id}: ${statusText(e)}`;
    if (active && e.total) text += ` ${progressBar(e.current ?? 0, e.total)}`;
    const cols = this.out.columns ?? 0;
    if (cols > 10 && text.length > cols - 1) text = text.slice(0, cols - 1);
    const idx = this.lines.indexOf(e.id);
    if (idx === -1) {
      this.lines.push(e.id);
      this.out.write(`\x1b[2K\r${text}\n`);
      return;
    }
    const up = this.lines.length - idx;
    this.out.write(`\x1b[${up}A\x1b[2K\r${text}\n${up > 1 ? `\x1b[${up - 1}B` : ''}`);
  }
}
