// The library's `berth.system` (info, df, prune, restore) and `berth.files` (cp both ways, tar
// streams): the same engine code as `berth system ...` and `berth cp`.
import { PassThrough, type Readable } from 'node:stream';
import { archiveFromContainer, copyFromContainer, copyToContainer, extractToContainer, type CopyOptions } from './engine/copy.js';
import type { Engine } from './engine/engine.js';
import { restoreContainers, type RestoreResult } from './engine/restore.js';
import { dfSummary, systemDf, systemInfo, systemPrune, type PruneOptions, type PruneReport, type SystemInfo } from './engine/system.js';

export type { CopyOptions, PruneOptions, PruneReport, RestoreResult, SystemInfo };

export class BerthSystem {
  constructor(private readonly engine: Engine, private readonly version: string) {}

  /** docker info's fields. */
  info(): SystemInfo {
    return systemInfo(this.engine, this.version);
  }

  /** Disk usage: docker's summary rows (bytes) and the details per image, container and volume. */
  async df(): Promise<{ summary: ReturnType<typeof dfSummary>; images: unknown[]; containers: unknown[]; volumes: unknown[] }> {
    const d = await systemDf(this.engine);
    return { summary: dfSummary(d), images: d.Images, containers: d.Containers.map(({ record: _r, ...c }) => c), volumes: d.Volumes };
  }

  /** Removes stopped containers, unused networks, dangling (or with all, unused) images and, with volumes, unused anonymous volumes. */
  prune(o: PruneOptions = {}): Promise<PruneReport> {
    return systemPrune(this.engine, o);
  }

  /** After a reboot: starts the containers whose restart policy asks for it. */
  restore(): Promise<RestoreResult> {
    return restoreContainers(this.engine);
  }
}

export class BerthFiles {
  constructor(private readonly engine: Engine) {}

  /** `cp CONTAINER:src dest` */
  copyFrom(id: string, src: string, dest: string, o?: CopyOptions): Promise<void> {
    return copyFromContainer(this.engine, id, src, dest, o);
  }

  /** `cp src CONTAINER:dest` */
  copyTo(id: string, src: string, dest: string, o?: CopyOptions): Promise<void> {
    return copyToContainer(this.engine, id, src, dest, o);
  }

  /** `cp CONTAINER:path -`: a tar stream of path (errors are emitted on the stream). */
  getArchive(id: string, path: string, o?: CopyOptions): Readable {
    const out = new PassThrough();
    archiveFromContainer(this.engine, id, path, out, o).then(() => out.end(), (e: Error) => out.destroy(e));
    return out;
  }

  /** `cp - CONTAINER:dir`: extracts a tar stream into the directory dir. */
  putArchive(id: string, dir: string, tar: Readable | AsyncIterable<Buffer>, o?: CopyOptions): Promise<void> {
    return extractToContainer(this.engine, id, tar, dir, o);
  }
}
