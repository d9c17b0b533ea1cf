import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileContentStore, bufferSource, type BlobSource } from '../../src/image/content-store.js';
import { DigestMismatchError, IncompleteContentError } from '../../src/image/errors.js';
import { digestOf } from '../../src/image/digest.js';
import { MEDIA, type Descriptor } from '../../src/image/types.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function store(): FileContentStore {
  const d = mkdtempSync(join(tmpdir(), 'berth-cs-'));
  dirs.push(d);
  return new FileContentStore(d);
}

/** A stream that sends `data` in chunks, then fails (a cut connection) after `cutAt` bytes. */
function cutStream(data: Buffer, cutAt: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= cutAt) {
        this.destroy(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
        return;
      }
      const n = Math.min(4096, cutAt - sent);
      this.push(data.subarray(sent, sent + n));
      sent += n;
    },
  });
}

describe('content store: put and ingest', () => {
  it('stores bytes under blobs/sha256/<hex>, verified', async () => {
    const cs = store();
    const data = Buffer.from('hello');
    const d = cs.put(data);
    assert.equal(d, digestOf(data));
    assert.ok(cs.has(d));
    assert.equal(cs.path(d), join(cs.root, 'blobs', 'sha256', d.slice(7)));
    assert.deepEqual(cs.read(d), data);
    assert.equal(cs.put(data, d), d, 'a second put is a no-op');
    assert.throws(() => cs.put(data, digestOf('other')), DigestMismatchError);
    assert.deepEqual(cs.readJSON(cs.put('{"a":1}')), { a: 1 });
  });

  it('ingests a stream and returns its digest; a known digest must match', async () => {
    const cs = store();
    const data = randomBytes(100_000);
    const d = await cs.ingest(Readable.from([data]));
    assert.equal(d, digestOf(data));
    const data2 = randomBytes(5000);
    assert.equal(await cs.ingest(Readable.from([data2]), { digest: digestOf(data2), size: data2.length }), digestOf(data2));
  });

  it('rejects a wrong digest and keeps nothing', async () => {
    const cs = store();
    const data = randomBytes(10_000);
    const wrong = digestOf('something else');
    await assert.rejects(cs.ingest(Readable.from([data]), { digest: wrong, size: data.length }), DigestMismatchError);
    assert.equal(cs.has(wrong), false);
    assert.equal(cs.has(digestOf(data)), false);
    assert.deepEqual(readdirSync(cs.ingestDir), []);
  });

  it('rejects content longer than the expected size as soon as it passes it', async () => {
    const cs = store();
    const data = randomBytes(10_000);
    await assert.rejects(cs.ingest(Readable.from([data]), { digest: digestOf(data), size: 100 }), /more than 100 bytes/);
    assert.equal(cs.has(digestOf(data)), false);
    assert.deepEqual(readdirSync(cs.ingestDir), []);
  });

  it('a stream that ends early is incomplete: the partial is kept and the next ingest resumes', async () => {
    const cs = store();
    const data = randomBytes(200_000);
    const digest = digestOf(data);
    await assert.rejects(cs.ingest(Readable.from([data.subarray(0, 50_000)]), { digest, size: data.length }), IncompleteContentError);
    assert.equal(cs.has(digest), false);
    assert.equal(cs.partialSize(digest), 50_000);
    const asked: number[] = [];
    const src: BlobSource = async (offset) => {
      asked.push(offset);
      return { stream: Readable.from([data.subarray(offset)]), offset };
    };
    assert.equal(await cs.ingest(src, { digest, size: data.length }), digest);
    assert.deepEqual(asked, [50_000]);
    assert.deepEqual(readFileSync(cs.path(digest)), data);
    assert.equal(cs.partialSize(digest), 0);
  });

  it('resumes after a cut connection; starts over when the source cannot seek', async () => {
    const cs = store();
    const data = randomBytes(300_000);
    const digest = digestOf(data);
    await assert.rejects(cs.ingest(async () => ({ stream: cutStream(data, 120_000), offset: 0 }), { digest, size: data.length }), /other side closed/);
    assert.ok(cs.partialSize(digest) > 0 && cs.partialSize(digest) <= 120_000);
    // a server that ignores Range sends everything from 0
    const src: BlobSource = async () => ({ stream: Readable.from([data]), offset: 0 });
    assert.equal(await cs.ingest(src, { digest, size: data.length }), digest);
    assert.deepEqual(readFileSync(cs.path(digest)), data);
  });

  it('a corrupt partial is detected by the digest and dropped', async () => {
    const cs = store();
    const data = randomBytes(50_000);
    const digest = digestOf(data);
    writeFileSync(cs.ingestPath(digest), randomBytes(10_000)); // not a prefix of data
    await assert.rejects(cs.ingest(bufferSource(data), { digest, size: data.length }), DigestMismatchError);
    assert.equal(existsSync(cs.ingestPath(digest)), false);
    assert.equal(await cs.ingest(bufferSource(data), { digest, size: data.length }), digest);
  });

  it('concurrent ingests of one digest download once; a stored blob is a no-op', async () => {
    const root = store().root;
    const a = new FileContentStore(root); // two instances: the lock is what serialises them
    const b = new FileContentStore(root);
    const data = randomBytes(500_000);
    const digest = digestOf(data);
    let calls = 0;
    const slow: BlobSource = async (offset) => {
      calls++;
      const chunks: Buffer[] = [];
      for (let i = offset; i < data.length; i += 50_000) chunks.push(data.subarray(i, i + 50_000));
      return {
        stream: new Readable({
          read() {
            setTimeout(() => this.push(chunks.shift() ?? null), 5);
          },
        }),
        offset,
      };
    };
    const results = await Promise.all([a.ingest(slow, { digest, size: data.length }), b.ingest(slow, { digest, size: data.length }), a.ingest(slow, { digest })]);
    assert.deepEqual(results, [digest, digest, digest]);
    assert.equal(calls, 1);
    assert.deepEqual(readFileSync(a.path(digest)), data);
    assert.deepEqual(readdirSync(a.ingestDir), []);
    const st = statSync(a.path(digest));
    await a.ingest(Readable.from([data]), { digest, size: data.length });
    assert.equal(statSync(a.path(digest)).mtimeMs, st.mtimeMs);
    await assert.rejects(a.ingest(Readable.from([data]), { digest, size: 5 }), /size of/);
  });

  it('a process killed while ingesting leaves no blob; the next one resumes and prune clears leftovers', async () => {
    const cs = store();
    const data = randomBytes(1_000_000);
    const digest = digestOf(data);
    const src = join(cs.root, 'src.bin');
    writeFileSync(src, data);
    const mod = fileURLToPath(new URL('../../src/image/content-store.js', import.meta.url));
    const script = `
      const { FileContentStore } = await import(${JSON.stringify(mod)});
      const { Readable } = await import('node:stream');
      const { readFileSync } = await import('node:fs');
      const data = readFileSync(${JSON.stringify(src)});
      let sent = 0;
      setInterval(() => {}, 1000);
      const s = new Readable({ read() {
        if (sent >= 400000) { process.stdout.write('stalled\\n'); return; }
        this.push(data.subarray(sent, sent + 100000)); sent += 100000;
      } });
      await new FileContentStore(${JSON.stringify(cs.root)}).ingest(s, { digest: ${JSON.stringify(digest)}, size: ${data.length} });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.on('exit', r));
    await new Promise<void>((res) => child.stdout.on('data', (d: Buffer) => d.toString().includes('stalled') && res()));
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    assert.equal(cs.has(digest), false, 'no blob after the kill');
    const held = cs.partialSize(digest);
    assert.ok(held > 0 && held <= 400_000, `partial of ${held} bytes`);
    const asked: number[] = [];
    const resumed = await cs.ingest(async (o) => {
      asked.push(o);
      return { stream: Readable.from([data.subarray(o)]), offset: o };
    }, { digest, size: data.length });
    assert.equal(resumed, digest);
    assert.deepEqual(asked, [held]);
    // another kill leaves a partial that prune removes (its writer is dead, its lock released)
    writeFileSync(cs.ingestPath(digestOf('x')), 'partial');
    writeFileSync(join(cs.ingestDir, 'tmp-999999-abcd'), 'x');
    const r = await cs.prune([{ mediaType: MEDIA.ociLayerGzip, digest, size: data.length }]);
    assert.deepEqual(r.removed, []);
    assert.deepEqual(r.removedIngests.sort(), [`sha256-${digestOf('x').slice(7)}`, 'tmp-999999-abcd'].sort());
    assert.deepEqual(readdirSync(cs.ingestDir), []);
  });
});

describe('content store: reachability and prune', () => {
  function image(cs: FileContentStore, tag: string): { manifest: Descriptor; layers: string[]; config: string } {
    const layer = cs.put(`layer-${tag}`);
    const shared = cs.put('shared-layer');
    const config = cs.put(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
    const m = JSON.stringify({
      schemaVersion: 2, mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: config, size: cs.info(config)!.size },
      layers: [shared, layer].map((d) => ({ mediaType: MEDIA.ociLayerGzip, digest: d, size: cs.info(d)!.size })),
    });
    const md = cs.put(m);
    return { manifest: { mediaType: MEDIA.ociManifest, digest: md, size: m.length }, layers: [shared, layer], config };
  }

  it('keeps what roots reach (through indexes), removes the rest', async () => {
    const cs = store();
    const a = image(cs, 'a');
    const b = image(cs, 'b');
    const idx = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ ...a.manifest, platform: { os: 'linux', architecture: 'amd64' } }] });
    const idxD = cs.put(idx);
    const junk = cs.put('junk');
    const dry = await cs.prune([{ mediaType: MEDIA.ociIndex, digest: idxD, size: idx.length }], { dryRun: true });
    assert.ok(cs.has(junk), 'dry run removes nothing');
    assert.deepEqual(new Set(dry.removed), new Set([junk, b.manifest.digest, b.config, b.layers[1]]));
    const r = await cs.prune(() => [{ mediaType: MEDIA.ociIndex, digest: idxD, size: idx.length }]);
    assert.deepEqual(new Set(r.removed), new Set(dry.removed));
    assert.ok(r.reclaimedBytes > 0);
    for (const d of [idxD, a.manifest.digest, a.config, ...a.layers]) assert.ok(cs.has(d), `${d} kept`);
    assert.ok(cs.has(b.layers[0]!), 'the shared layer stays');
    assert.ok(!cs.has(b.layers[1]!));
  });

  it('leases keep blobs alive until released; leases of dead processes do not count', async () => {
    const cs = store();
    const d = cs.put('pulled but not yet named');
    const lease = await cs.lease();
    await lease.add(d);
    await cs.prune([]);
    assert.ok(cs.has(d));
    writeFileSync(join(cs.leasesDir, 'dead.json'), JSON.stringify({ pid: 999999, start: '1', digests: [d] }));
    await lease.release();
    await cs.prune([]);
    assert.ok(!cs.has(d));
    assert.deepEqual(readdirSync(cs.leasesDir), []);
  });

  it('lists blobs and refuses to read huge ones whole', () => {
    const cs = store();
    const d = cs.put(Buffer.alloc(2000));
    assert.deepEqual(cs.list().map((b) => b.digest), [d]);
    assert.throws(() => cs.read(d, 100), /more than the 100 expected/);
    assert.throws(() => cs.path('sha256:nope'), /invalid sha256 digest/);
  });
});
