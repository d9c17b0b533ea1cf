// `berth` image verbs: pull, push, login, logout, images, image inspect, history, tag, rmi,
// image prune, load, save, import, export, commit, diff; docker's flags, output and messages.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Engine } from '../../engine/engine.js';
import { EngineError } from '../../engine/errors.js';
import { ANN_IMAGE_ID, ANN_SNAPSHOT, HOST_IMAGE, imageName } from '../../engine/images.js';
import { ImageError } from '../../image/errors.js';
import { imageTableRows } from '../../image/format.js';
import { collectImageGarbage } from '../../engine/image-gc.js';
import { familiarString, parseReference } from '../../image/reference.js';
import { MEDIA, type Descriptor, type ImageConfig, type ImageManifest } from '../../image/types.js';
import { DEFAULT_HOST_HIDE } from '../../storage/snapshotters/overlay.js';
import { readTar } from '../../storage/tar/reader.js';
import { humanSize, listOutput, quietLines, template } from './format.js';
import { bool, str, UsageError } from './flags.js';
import type { Command } from './commands.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Image-side and storage errors as the engine's (message alone; exit status by kind). */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof EngineError || e instanceof UsageError) throw e;
    if (e instanceof ImageError) throw new EngineError(e.code === 'not_found' ? 'notfound' : e.code === 'conflict' ? 'conflict' : 'invalid', e.message);
    const err = e as Error & { name?: string };
    if (err?.name === 'StorageError' || err?.name === 'AuthError' || err?.name === 'RegistryHttpError') throw new EngineError('system', err.message);
    throw e;
  }
}

function progress() {
  return import('../../image/registry/progress.js').then(({ ProgressRenderer }) => new ProgressRenderer(process.stderr).callback);
}

function containerImage(engine: Engine, ref: string) {
  const rec = engine.get(ref);
  const snapKind = rec.spec.annotations?.[ANN_SNAPSHOT];
  if (!snapKind) throw new EngineError('invalid', `container ${rec.id.slice(0, 12)} runs a --rootfs directory: it has no image layers`);
  return { rec, imageId: rec.spec.annotations?.[ANN_IMAGE_ID] ?? '' };
}

const IMAGE_FORMAT = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
const IMAGE_HEADERS = { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Digest: 'DIGEST' };

export const IMAGE_VERBS: Record<string, Command> = {
  pull: {
    usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
    summary: 'Download an image from a registry',
    flags: [
      { name: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress verbose output' },
    ],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, f, a) {
      return guard(async () => {
        const { pull } = await import('../../image/registry/pull.js');
        const im = ctx.engine().images;
        const onProgress = bool(f, 'quiet') ? undefined : await progress();
        const r = await pull(a[0]!, { content: im.content, images: im.images }, { ...(onProgress ? { onProgress } : {}), ...(str(f, 'platform') ? { platform: str(f, 'platform')! } : {}) });
        // as docker: the layers are extracted by the pull, so the first run starts at once
        await im.prepare(r.name, im.find(r.name));
        if (!bool(f, 'quiet')) ctx.out(`Digest: ${r.digest}\n${r.status}\n`);
        ctx.out(`${r.name}\n`);
        return 0;
      });
    },
  },
  push: {
    usage: 'push [OPTIONS] NAME[:TAG]',
    summary: 'Upload an image to a registry',
    flags: [{ name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress verbose output' }],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, f, a) {
      return guard(async () => {
        const { push } = await import('../../image/registry/push.js');
        const im = ctx.engine().images;
        const onProgress = bool(f, 'quiet') ? undefined : await progress();
        const r = await push(a[0]!, { content: im.content, images: im.images }, onProgress ? { onProgress } : {});
        const ref = parseReference(a[0]!);
        ctx.out(`${ref.tag ?? 'latest'}: digest: ${r.digest} size: ${r.size}\n`);
        return 0;
      });
    },
  },
  login: {
    usage: 'login [OPTIONS] [SERVER]',
    summary: 'Log in to a registry',
    flags: [
      { name: 'username', short: 'u', kind: 'string', help: 'Username' },
      { name: 'password', short: 'p', kind: 'string', help: 'Password' },
      { name: 'password-stdin', kind: 'bool', help: 'Take the password from stdin' },
    ],
    maxArgs: 1,
    async run(ctx, f, a) {
      return guard(async () => {
        const { login } = await import('../../image/registry/login.js');
        const username = str(f, 'username');
        let password = str(f, 'password');
        if (bool(f, 'password-stdin')) {
          if (password) throw new UsageError('--password and --password-stdin are mutually exclusive');
          const chunks: Buffer[] = [];
          for await (const c of process.stdin) chunks.push(c as Buffer);
          password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
        }
        if (!username || password === undefined) throw new EngineError('invalid', 'Error: Cannot perform an interactive login from a non TTY device: give --username and --password or --password-stdin');
        if (str(f, 'password')) ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
        const r = await login(a[0], { username, password });
        ctx.out(`${r.status}\n`);
        return 0;
      });
    },
  },
  logout: {
    usage: 'logout [SERVER]',
    summary: 'Log out from a registry',
    flags: [],
    maxArgs: 1,
    async run(ctx, _f, a) {
      return guard(async () => {
        const { logout } = await import('../../image/registry/login.js');
        const r = await logout(a[0]);
        ctx.out(r.removed ? `Removing login credentials for ${r.host}\n` : `Not logged in to ${r.host}\n`);
        return 0;
      });
    },
  },
  images: {
    usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
    summary: 'List images',
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Show all images' },
      { name: 'digests', kind: 'bool', help: 'Show digests' },
      { name: 'format', kind: 'string', help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
      { name: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only show image IDs' },
    ],
    maxArgs: 1,
    async run(ctx, f, a) {
      return guard(async () => {
        const im = ctx.engine().images;
        const list = im.images.list(a[0] ? { reference: a[0] } : {});
        const noTrunc = bool(f, 'no-trunc');
        const rows: Record<string, unknown>[] = [];
        for (const img of list) {
          const t = imageTableRows([img])[0]!;
          const digests = img.RepoDigests.map((d) => d.slice(d.indexOf('@') + 1));
          const base = { ID: noTrunc ? img.Id : t.imageId, CreatedSince: t.created, CreatedAt: new Date(img.Created * 1000).toISOString(), Size: t.size, Digest: digests[0] ?? '<none>', Containers: 'N/A', SharedSize: 'N/A', UniqueSize: 'N/A', VirtualSize: t.size };
          for (const r of imageTableRows([img])) rows.push({ Repository: r.repository, Tag: r.tag, ...base });
        }
        if (bool(f, 'quiet')) {
          ctx.out(quietLines(new Set(rows.map((r) => String(r.ID)))));
          return 0;
        }
        const table = bool(f, 'digests') && !str(f, 'format') ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}' : IMAGE_FORMAT;
        ctx.out(listOutput(rows, str(f, 'format'), table, IMAGE_HEADERS));
        return 0;
      });
    },
  },
  history: {
    usage: 'history [OPTIONS] IMAGE',
    summary: 'Show the history of an image',
    flags: [
      { name: 'format', kind: 'string', help: 'Format output using a Go template' },
      { name: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Only show image IDs' },
    ],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, f, a) {
      return guard(async () => {
        const items = ctx.engine().images.images.history(a[0]!);
        const noTrunc = bool(f, 'no-trunc');
        const { humanAge } = await import('../../image/format.js');
        const rows = items.map((h) => ({
          ID: h.Id === '<missing>' || noTrunc ? h.Id : h.Id.slice(7, 19),
          CreatedSince: h.Created ? humanAge(h.Created) : 'N/A',
          CreatedAt: h.Created ? new Date(h.Created * 1000).toISOString() : '',
          CreatedBy: noTrunc || h.CreatedBy.length <= 45 ? h.CreatedBy : `${h.CreatedBy.slice(0, 44)}…`,
          Size: humanSize(h.Size),
          Comment: h.Comment,
        }));
        if (bool(f, 'quiet')) {
          ctx.out(quietLines(rows.map((r) => r.ID)));
          return 0;
        }
        ctx.out(listOutput(rows, str(f, 'format'), 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}', { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }));
        return 0;
      });
    },
  },
  tag: {
    usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    flags: [],
    minArgs: 2,
    maxArgs: 2,
    async run(ctx, _f, a) {
      return guard(async () => {
        await ctx.engine().images.images.tag(a[0]!, a[1]!);
        return 0;
      });
    },
  },
  rmi: {
    usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
    summary: 'Remove one or more images',
    flags: [
      { name: 'force', short: 'f', kind: 'bool', help: 'Force removal of the image' },
      { name: 'no-prune', kind: 'bool', help: 'Do not delete untagged parents' },
    ],
    minArgs: 1,
    async run(ctx, f, a) {
      const engine = ctx.engine();
      const store = engine.images.images;
      let status = 0;
      for (const ref of a) {
        try {
          await guard(async () => {
            let results;
            try {
              results = await store.remove(ref, { force: bool(f, 'force') });
            } catch (e) {
              if (!(bool(f, 'force') && (e as ImageError).code === 'conflict')) throw e;
              // docker rmi -f of an image in use: the names go, the image stays for its containers
              const { records } = store.resolve(ref);
              results = [];
              for (const r of records) if (await store.untag(r.name)) results.push({ Untagged: familiarString(parseReference(r.name)) });
            }
            for (const r of results) ctx.out('Untagged' in r ? `Untagged: ${r.Untagged}\n` : `Deleted: ${r.Deleted}\n`);
          });
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          ctx.err(`Error response from daemon: ${e.message}\n`);
          status = 1;
        }
      }
      await guard(() => collectImageGarbage(engine.images));
      return status;
    },
  },
  load: {
    usage: 'load [OPTIONS]',
    summary: 'Load an image from a tar archive or STDIN',
    flags: [
      { name: 'input', short: 'i', kind: 'string', help: 'Read from tar archive file, instead of STDIN' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress the load output' },
    ],
    maxArgs: 0,
    async run(ctx, f) {
      return guard(async () => {
        const { loadArchive } = await import('../../image/archive/load.js');
        const im = ctx.engine().images;
        const input = str(f, 'input');
        if (input && !existsSync(input)) throw new EngineError('notfound', `open ${input}: no such file or directory`);
        const lease = await im.content.lease();
        try {
          const named: string[] = [];
          await loadArchive(input ?? (process.stdin as unknown as Readable), im.content, async (ref, manifest) => {
            if (ref) {
              await im.images.set(ref, manifest);
              named.push(`Loaded image: ${imageName(ref)}`);
            } else named.push(`Loaded image ID: ${manifest.digest}`);
          }, { lease, tmpDir: join(im.root, 'content') });
          if (!bool(f, 'quiet')) ctx.out(named.map((n) => n + '\n').join(''));
        } finally {
          await lease.release();
        }
        return 0;
      });
    },
  },
  save: {
    usage: 'save [OPTIONS] IMAGE [IMAGE...]',
    summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    flags: [
      { name: 'output', short: 'o', kind: 'string', help: 'Write to a file, instead of STDOUT' },
      { name: 'format', kind: 'string', help: 'docker-archive (default) or oci-archive' },
    ],
    minArgs: 1,
    async run(ctx, f, a) {
      return guard(async () => {
        const { saveArchive } = await import('../../image/archive/save.js');
        const store = ctx.engine().images.images;
        const images = a.map((ref) => {
          const r = store.resolve(ref);
          const rec = r.byName ?? r.records[0]!;
          return { manifest: rec.manifest, refs: r.byName ? [imageName(r.byName.name)] : r.records.map((x) => imageName(x.name)).filter((n) => !n.includes('@')) };
        });
        const out = str(f, 'output');
        if (!out && process.stdout.isTTY) throw new EngineError('invalid', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
        const fmt = (str(f, 'format') ?? 'docker-archive') as 'docker-archive';
        if (fmt !== 'docker-archive' && fmt !== ('oci-archive' as string)) throw new EngineError('invalid', `unknown format ${fmt} (docker-archive, oci-archive)`);
        const stream = saveArchive(images, store.content, fmt);
        await pipeline(stream, out ? createWriteStream(`${out}`) : process.stdout);
        return 0;
      });
    },
  },
  import: {
    usage: 'import [OPTIONS] file|- [REPOSITORY[:TAG]]',
    summary: 'Import the contents from a tarball to create a filesystem image',
    flags: [{ name: 'message', short: 'm', kind: 'string', help: 'Set commit message for imported image' }],
    minArgs: 1,
    maxArgs: 2,
    async run(ctx, f, a) {
      return guard(async () => {
        const { importRootfs } = await import('../../image/archive/rootfs.js');
        const im = ctx.engine().images;
        if (a[1]) parseReference(a[1]);
        const src = a[0] === '-' ? (process.stdin as unknown as Readable) : a[0]!;
        if (typeof src === 'string' && !existsSync(src)) throw new EngineError('notfound', `open ${src}: no such file or directory`);
        const lease = await im.content.lease();
        try {
          const r = await importRootfs(src, im.content, {
            ...(str(f, 'message') ? { comment: str(f, 'message')! } : {}), tmpDir: join(im.root, 'content'),
            config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
          });
          await lease.add(r.manifest.digest, r.config.digest);
          await im.images.set(a[1] ?? `localhost/import@${r.manifest.digest}`, r.manifest);
          ctx.out(`${r.config.digest}\n`);
        } finally {
          await lease.release();
        }
        return 0;
      });
    },
  },
  export: {
    usage: 'export [OPTIONS] CONTAINER',
    summary: "Export a container's filesystem as a tar archive",
    flags: [{ name: 'output', short: 'o', kind: 'string', help: 'Write to a file, instead of STDOUT' }],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, f, a) {
      return guard(async () => {
        const engine = ctx.engine();
        const rec = engine.get(a[0]!);
        const out = str(f, 'output');
        if (!out && process.stdout.isTTY) throw new EngineError('invalid', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
        const { exportContainer, exportFilesystem } = await import('../../image/archive/rootfs.js');
        const stream = rec.spec.annotations?.[ANN_SNAPSHOT] ? await exportContainer(engine.images.snapshotter, rec.id) : exportFilesystem(rec.rootfs);
        await pipeline(stream, out ? createWriteStream(out) : process.stdout);
        return 0;
      });
    },
  },
  commit: {
    usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
    summary: "Create a new image from a container's changes",
    flags: [
      { name: 'author', short: 'a', kind: 'string', help: 'Author' },
      { name: 'message', short: 'm', kind: 'string', help: 'Commit message' },
      { name: 'pause', short: 'p', kind: 'bool', help: 'Pause container during commit', default: 'true' },
    ],
    minArgs: 1,
    maxArgs: 2,
    async run(ctx, f, a) {
      return guard(async () => {
        const engine = ctx.engine();
        const { rec, imageId } = containerImage(engine, a[0]!);
        if (a[1]) parseReference(a[1]);
        const im = engine.images;
        let base: { config: ImageConfig; manifest: ImageManifest };
        // Refused on purpose: the host's root file system is no OCI layer. A layer on top of it
        // would run nowhere else (nor here after the host changes), and exporting the host as a
        // base layer would copy gigabytes, secrets included (/etc/shadow, ssh host keys).
        if (imageId === HOST_IMAGE || !imageId)
          throw new EngineError('invalid', `container ${rec.id.slice(0, 12)} runs the embedded image "host" (the host's root file system, which is not an image layer): its changes cannot be committed onto it. Create the container from a stored image (berth pull, berth import) to commit it`);
        {
          const { records } = im.images.resolve(imageId);
          const r = records[0];
          if (!r) throw new EngineError('notfound', `No such image: ${imageId} (the container's image was removed)`);
          base = { config: im.images.config(r), manifest: im.images.manifest(r) };
        }
        const pause = f.pause !== false && rec.state === 'running';
        if (pause) engine.pause(rec.id);
        let diffId: string;
        let layerDigest: string;
        const lease = await im.content.lease();
        try {
          const h = createHash('sha256');
          const hasher = new Transform({ transform(c: Buffer, _e, cb) { h.update(c); cb(null, c); } });
          const gzip = createGzip();
          pipeline(im.snapshotter.diff(rec.id), hasher, gzip).catch((e: Error) => gzip.destroy(e));
          layerDigest = await im.content.ingest(gzip);
          await lease.add(layerDigest);
          diffId = `sha256:${h.digest('hex')}`;
        } finally {
          if (pause) engine.unpause(rec.id);
        }
        try {
          const layerSize = statSync(im.content.path(layerDigest)).size;
          const c = rec.config as typeof rec.config & { ExposedPorts?: Record<string, object> };
          const created = new Date().toISOString();
          const config: ImageConfig = {
            ...base.config,
            created,
            ...(str(f, 'author') ? { author: str(f, 'author')! } : {}),
            config: {
              ...(base.config.config ?? {}),
              Env: c.Env, Cmd: c.Cmd, Entrypoint: c.Entrypoint, WorkingDir: c.WorkingDir, User: c.User, Labels: c.Labels,
              ...(c.StopSignal && c.StopSignal !== 'SIGTERM' ? { StopSignal: c.StopSignal } : {}),
              ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
            },
            rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, diffId] },
            history: [...(base.config.history ?? []), { created, created_by: `berth commit ${rec.name}`, ...(str(f, 'message') ? { comment: str(f, 'message')! } : {}), ...(str(f, 'author') ? { author: str(f, 'author')! } : {}) }],
          };
          const cBytes = Buffer.from(JSON.stringify(config));
          const cDigest = im.content.put(cBytes, sha256(cBytes));
          const manifest: ImageManifest = {
            schemaVersion: 2, mediaType: MEDIA.ociManifest,
            config: { mediaType: MEDIA.ociConfig, digest: cDigest, size: cBytes.length },
            layers: [...base.manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })), { mediaType: MEDIA.ociLayerGzip, digest: layerDigest, size: layerSize }],
          };
          const mBytes = Buffer.from(JSON.stringify(manifest));
          const mDigest = im.content.put(mBytes, sha256(mBytes));
          await lease.add(cDigest, mDigest);
          const desc: Descriptor = { mediaType: MEDIA.ociManifest, digest: mDigest, size: mBytes.length };
          await im.images.set(a[1] ?? `localhost/commit@${mDigest}`, desc);
          ctx.out(`${cDigest}\n`);
        } finally {
          await lease.release();
        }
        return 0;
      });
    },
  },
  diff: {
    usage: 'diff CONTAINER',
    summary: "Inspect changes to files or directories on a container's filesystem",
    flags: [],
    minArgs: 1,
    maxArgs: 1,
    async run(ctx, _f, a) {
      return guard(async () => {
        const engine = ctx.engine();
        const { rec, imageId } = containerImage(engine, a[0]!);
        const snap = engine.images.snapshotter;
        const m = await snap.mountContainer(rec.id);
        const lowers = m.overlay?.lowerdirs ?? [];
        const changes = new Map<string, string>();
        const inLower = async (p: string) => {
          for (const l of lowers) {
            try {
              await lstat(join(l, p));
              return true;
            } catch {
              /* not in this one */
            }
          }
          return false;
        };
        for await (const item of readTar(snap.diff(rec.id) as AsyncIterable<Buffer>)) {
          for await (const _ of item.body) {
            /* drain */
          }
          const name = '/' + item.header.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
          if (name === '/') continue;
          const base = name.slice(name.lastIndexOf('/') + 1);
          const dir = name.slice(0, name.lastIndexOf('/')) || '/';
          if (base === '.wh..wh..opq') continue;
          if (base.startsWith('.wh.')) {
            changes.set(join(dir, base.slice(4)), 'D');
            continue;
          }
          changes.set(name, lowers.length && (await inLower(name)) ? 'C' : 'A');
        }
        // the engine's mount points for hosts, hostname and resolv.conf are not the container's changes
        for (const p of ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']) if (changes.get(p) === 'A') changes.delete(p);
        if (changes.get('/etc') === 'C' && ![...changes.keys()].some((k) => k.startsWith('/etc/'))) changes.delete('/etc');
        if (imageId === HOST_IMAGE) {
          // the host image's hidden directories (and their parents) are made by berth, not changes
          const hidden = [...DEFAULT_HOST_HIDE, snap.root];
          const made = (p: string) => hidden.some((h) => h === p || h.startsWith(p + '/'));
          for (const [p, k] of [...changes].sort(([x], [y]) => (x < y ? 1 : -1))) {
            if (k === 'C' && made(p) && ![...changes.keys()].some((c) => c.startsWith(p + '/'))) changes.delete(p);
          }
        }
        ctx.out([...changes].sort(([x], [y]) => (x < y ? -1 : 1)).map(([p, k]) => `${k} ${p}\n`).join(''));
        return 0;
      });
    },
  },
};

export const IMAGE_COMMANDS: Record<string, Command> = {
  ls: { ...IMAGE_VERBS.images!, usage: 'image ls [OPTIONS] [REPOSITORY[:TAG]]' },
  inspect: {
    usage: 'image inspect [OPTIONS] IMAGE [IMAGE...]',
    summary: 'Display detailed information on one or more images',
    flags: [{ name: 'format', short: 'f', kind: 'string', help: 'Format output using a custom template' }],
    minArgs: 1,
    async run(ctx, f, a) {
      const store = ctx.engine().images.images;
      const objs: unknown[] = [];
      let status = 0;
      for (const ref of a) {
        try {
          objs.push(await guard(async () => store.inspect(ref)));
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          ctx.err(`Error: ${e.message}\n`);
          status = 1;
        }
      }
      const fmt = str(f, 'format');
      if (fmt) {
        const t = template(fmt);
        for (const o of objs) ctx.out(t(o as never) + '\n');
      } else ctx.out(JSON.stringify(objs, null, 4) + '\n');
      return status;
    },
  },
  prune: {
    usage: 'image prune [OPTIONS]',
    summary: 'Remove unused blobs and unpacked layers',
    flags: [
      { name: 'all', short: 'a', kind: 'bool', help: 'Remove all images not used by a container' },
      { name: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' },
    ],
    maxArgs: 0,
    async run(ctx, f) {
      return guard(async () => {
        const engine = ctx.engine();
        const store = engine.images.images;
        if (bool(f, 'all')) {
          for (const r of store.records()) {
            try {
              const res = await store.remove(r.name);
              for (const x of res) ctx.out('Untagged' in x ? `untagged: ${x.Untagged}\n` : `deleted: ${x.Deleted}\n`);
            } catch {
              /* in use */
            }
          }
        }
        const r = await collectImageGarbage(engine.images);
        ctx.out(`Total reclaimed space: ${humanSize(r.bytes)}\n`);
        return 0;
      });
    },
  },
  history: { ...IMAGE_VERBS.history!, usage: 'image history [OPTIONS] IMAGE' },
  tag: { ...IMAGE_VERBS.tag!, usage: 'image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]' },
  rm: { ...IMAGE_VERBS.rmi!, usage: 'image rm [OPTIONS] IMAGE [IMAGE...]' },
  pull: { ...IMAGE_VERBS.pull!, usage: 'image pull [OPTIONS] NAME[:TAG|@DIGEST]' },
  push: { ...IMAGE_VERBS.push!, usage: 'image push [OPTIONS] NAME[:TAG]' },
  load: { ...IMAGE_VERBS.load!, usage: 'image load [OPTIONS]' },
  save: { ...IMAGE_VERBS.save!, usage: 'image save [OPTIONS] IMAGE [IMAGE...]' },
  import: { ...IMAGE_VERBS.import!, usage: 'image import [OPTIONS] file|- [REPOSITORY[:TAG]]' },
};
