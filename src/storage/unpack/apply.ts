// Applies tar entries to a layer directory that is private to us while we unpack (its parent is
// mode 0700 and nothing else writes there), so check-then-act on paths is race-free. Node has no
// openat(2), so containment is done by walking: every parent component of an entry is lstat'ed
// under the layer root and must be a real directory (a symlink there is refused: no file is ever
// created through a symlink, whether planted earlier in this layer or in a lower one), the final
// component is removed when it exists (unless both are directories) and created with O_EXCL
// (which never follows a symlink), and hardlink targets are resolved the same way.
import {
  closeSync,
  constants as C,
  fchmodSync,
  fchownSync,
  futimesSync,
  fsyncSync,
  linkSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeSync,
  chmodSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { StorageError, errnoCode } from '../errors.js';
import type { FsHelper } from '../helper.js';
import { entryComponents, printable } from '../paths.js';
import type { TarHeader } from '../tar/reader.js';
import { classifyWhiteout, isForbiddenXattr, OVERLAY_OPAQUE_XATTR, type WhiteoutMode } from './whiteout.js';

export interface ApplyOptions {
  /** The layer directory: empty for overlay, a copy of the parent for 'apply'. */
  root: string;
  mode: WhiteoutMode;
  helper: FsHelper;
  /** Apply owners from the archive (default: when running as root). */
  sameOwner: boolean;
  /** Create device nodes (default: when running as root); otherwise they are skipped. */
  devices: boolean;
  /** fsync files (off: the whole layer is synced by the caller, or not at all). */
  fsync?: boolean;
  /** The xattr marking an opaque directory in 'overlay' mode (user.overlay.opaque for rootless overlay). */
  opaqueXattr?: string;
}

export interface ApplyStats {
  entries: number;
  files: number;
  dirs: number;
  whiteouts: number;
  skippedDevices: number;
  skippedXattrs: number;
  bytes: number;
}

const lstatOrNull = (p: string): Stats | null => {
  try {
    return lstatSync(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
};

export class LayerApplier {
  readonly stats: ApplyStats = { entries: 0, files: 0, dirs: 0, whiteouts: 0, skippedDevices: 0, skippedXattrs: 0, bytes: 0 };
  /** Directories known to be real directories inside root (cleared on any removal). */
  private verified = new Set<string>();
  /** Directory metadata, applied at the end (creating children changes mtimes; a 0555 dir). */
  private dirMeta = new Map<string, TarHeader>();
  /** Paths created by this layer ('apply' mode: an opaque marker spares them). */
  private created = new Set<string>();

  constructor(private readonly o: ApplyOptions) {}

  private abs(rel: string): string {
    return rel === '' ? this.o.root : join(this.o.root, rel);
  }

  /** Makes sure every component of rel is a real directory under root, creating missing ones. */
  private ensureDir(comps: string[], create: boolean, what: string): void {
    let rel = '';
    for (const c of comps) {
      rel = rel ? `${rel}/${c}` : c;
      if (this.verified.has(rel)) continue;
      const st = lstatOrNull(this.abs(rel));
      if (st === null) {
        if (!create) throw new StorageError('FORMAT', `${what}: "${printable(rel)}" does not exist in the layer`);
        mkdirSync(this.abs(rel), 0o755);
        this.created.add(rel);
      } else if (st.isSymbolicLink()) {
        throw new StorageError('HOSTILE', `${what}: "${printable(rel)}" is a symlink; refusing to write through it`);
      } else if (!st.isDirectory()) {
        throw new StorageError('HOSTILE', `${what}: "${printable(rel)}" is not a directory`);
      }
      this.verified.add(rel);
    }
  }

  private remove(rel: string): void {
    rmSync(this.abs(rel), { recursive: true, force: true });
    this.verified.clear();
    this.dirMeta.delete(rel);
    for (const k of this.dirMeta.keys()) if (k.startsWith(rel + '/')) this.dirMeta.delete(k);
  }

  async apply(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    this.stats.entries++;
    const comps = entryComponents(h.name);
    const rel = comps.join('/');
    const base = comps[comps.length - 1];
    const parent = comps.slice(0, -1);
    const what = `entry "${printable(h.name)}"`;

    if (base === undefined) {
      // the layer root itself ("./")
      if (h.type !== 'dir') throw new StorageError('HOSTILE', `${what}: the layer root must be a directory`);
      this.dirMeta.set('', h);
      return;
    }

    const wh = classifyWhiteout(base);
    if (wh.kind === 'meta') return;
    if (wh.kind === 'opaque') {
      this.ensureDir(parent, true, what);
      const dirRel = parent.join('/');
      this.stats.whiteouts++;
      if (this.o.mode === 'overlay') await this.o.helper.setXattr(this.abs(dirRel), this.o.opaqueXattr ?? OVERLAY_OPAQUE_XATTR, 'y');
      else this.clearOpaque(dirRel);
      return;
    }
    if (wh.kind === 'whiteout') {
      if (wh.name === '' || wh.name === '.' || wh.name === '..') throw new StorageError('HOSTILE', `${what}: a whiteout of "${printable(wh.name)}"`);
      this.ensureDir(parent, true, what);
      const targetRel = [...parent, wh.name].join('/');
      this.stats.whiteouts++;
      if (lstatOrNull(this.abs(targetRel)) !== null) this.remove(targetRel);
      if (this.o.mode === 'overlay') {
        await this.o.helper.mknod(this.abs(targetRel), C.S_IFCHR | 0o600, 0, 0);
        this.created.add(targetRel);
      }
      return;
    }

    this.ensureDir(parent, true, what);
    const p = this.abs(rel);
    // Create first and look only on EEXIST (a duplicate entry, or the copied parent's file): the
    // existing entry is removed, never written through, unless both are directories.
    const create = <T>(make: () => T): T | 'kept' => {
      try {
        return make();
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      const st = lstatSync(p);
      if (st.isDirectory() && h.type === 'dir') return 'kept';
      this.remove(rel);
      return make();
    };
    const times = (): [number, number] => [h.atime ?? h.mtime, h.mtime];

    switch (h.type) {
      case 'dir':
        create(() => mkdirSync(p, 0o700));
        this.verified.add(rel);
        this.dirMeta.set(rel, h);
        this.created.add(rel);
        this.stats.dirs++;
        return; // metadata at the end
      case 'file': {
        const fd = create(() => openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600)) as number;
        try {
          let n = 0;
          for await (const chunk of body) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
            n += chunk.length;
          }
          this.stats.bytes += n;
          // chown clears setuid/setgid bits and file capabilities: mode, then xattrs, after it
          if (this.o.sameOwner) fchownSync(fd, h.uid, h.gid);
          fchmodSync(fd, h.mode & 0o7777);
          if (h.xattrs.size) await this.setXattrs(p, h);
          futimesSync(fd, ...times());
          if (this.o.fsync) fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        this.created.add(rel);
        this.stats.files++;
        return;
      }
      case 'symlink':
        if (h.linkname === '') throw new StorageError('FORMAT', `${what}: a symlink with an empty target`);
        create(() => symlinkSync(h.linkname, p));
        if (this.o.sameOwner) lchownSync(p, h.uid, h.gid);
        break;
      case 'link': {
        const target = entryComponents(h.linkname, `hardlink target of ${what}`);
        if (target.length === 0) throw new StorageError('HOSTILE', `${what}: a hardlink to the layer root`);
        if (target.join('/') === rel) return; // a link to itself: nothing to do
        this.ensureDir(target.slice(0, -1), false, `hardlink target of ${what}`);
        const tp = this.abs(target.join('/'));
        const tst = lstatOrNull(tp);
        if (!tst) throw new StorageError('FORMAT', `${what}: hardlink target "${printable(h.linkname)}" does not exist in the layer`);
        if (tst.isDirectory()) throw new StorageError('HOSTILE', `${what}: hardlink to a directory`);
        create(() => linkSync(tp, p)); // link(2) does not follow a symlink target
        this.created.add(rel);
        return; // the inode keeps its own metadata
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (h.type !== 'fifo' && !this.o.devices) {
          this.stats.skippedDevices++;
          return;
        }
        const fmt = h.type === 'char' ? C.S_IFCHR : h.type === 'block' ? C.S_IFBLK : C.S_IFIFO;
        const mknod = () => this.o.helper.mknod(p, fmt | 0o600, h.devmajor, h.devminor);
        try {
          await mknod();
        } catch (e) {
          if (errnoCode(e) !== 'EEXIST') throw e;
          this.remove(rel);
          await mknod();
        }
        if (this.o.sameOwner) lchownSync(p, h.uid, h.gid);
        break;
      }
    }
    this.created.add(rel);
    if (h.type !== 'symlink') chmodSync(p, h.mode & 0o7777);
    await this.setXattrs(p, h);
    lutimesSync(p, ...times());
  }

  private async setXattrs(p: string, h: TarHeader): Promise<void> {
    for (const [name, value] of h.xattrs) {
      if (isForbiddenXattr(name)) {
        this.stats.skippedXattrs++;
        continue;
      }
      try {
        await this.o.helper.setXattr(p, name, value);
      } catch (e) {
        const code = errnoCode(e);
        // a file system without xattrs, or security.*/trusted.* when not privileged: go on (as docker)
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EPERM' || code === 'EACCES') this.stats.skippedXattrs++;
        else throw new StorageError('IO', `set xattr ${name} on ${printable(h.name)}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  /** 'apply' mode opaque directory: remove everything below rel that this layer did not create. */
  private clearOpaque(rel: string): void {
    const walk = (dirRel: string) => {
      for (const name of readdirSync(this.abs(dirRel))) {
        const childRel = dirRel ? `${dirRel}/${name}` : name;
        if (!this.created.has(childRel)) this.remove(childRel);
        else if (lstatSync(this.abs(childRel)).isDirectory()) walk(childRel);
      }
    };
    walk(rel);
  }

  /** Directory owners, modes, xattrs and times, deepest first. */
  async finish(): Promise<void> {
    const dirs = [...this.dirMeta.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [rel, h] of dirs) {
      const p = this.abs(rel);
      const st = lstatOrNull(p);
      if (!st || !st.isDirectory()) continue;
      if (this.o.sameOwner) lchownSync(p, h.uid, h.gid);
      chmodSync(p, h.mode & 0o7777);
      await this.setXattrs(p, h);
      lutimesSync(p, h.atime ?? h.mtime, h.mtime);
    }
  }
}
