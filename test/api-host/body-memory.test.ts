/**
 * A large API body must cost about its own size in memory, not several copies of it (a
 * 390 MB upload took the server to 1.75 GB). Its own file, so the worker's memory high-water
 * mark starts low: the body is streamed from a 1 MiB buffer, so the client costs nothing, and
 * the process's peak resident size (getrusage maxrss) says what the server needed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskInfo } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { fakeServices } from './fake-services';

let dir: string;
let running: Awaited<ReturnType<typeof startServe>>;
let received: { bytes: number; sample: number[] } | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-body-'));
  const services = fakeServices(join(dir, 'data'), {
    'masks.save': async (a) => {
      received = { bytes: a.data.byteLength, sample: [...a.data.subarray(0, 6)] };
      return { id: 1, imageId: a.imageId, defectTypeId: a.defectTypeId, defectType: 'crack', path: '/m.png', width: a.width, height: a.height, areaPx: 1, createdAtMs: 1, updatedAtMs: 1 } satisfies MaskInfo;
    },
  });
  running = await startServe({ appRoot: dir, services, out: () => {} });
});

afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** POSTs masks.save whose `data` is `base64Chars` of base64 ("AQID" repeated: bytes 1, 2, 3, ...), with a Content-Length. */
function postLargeMask(base64Chars: number, width: number, height: number): Promise<{ status: number; body: string }> {
  const head = Buffer.from(`{"imageId":1,"defectTypeId":1,"width":${width},"height":${height},"data":{"$bytes":"`);
  const tail = Buffer.from('"}}');
  const unit = Buffer.alloc(1024 * 1024, 'AQID');
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: running.server.port,
        method: 'POST',
        path: '/api/masks.save',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${running.server.token}`, 'content-length': head.length + base64Chars + tail.length },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', fail);
    req.write(head);
    let left = base64Chars;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, unit.length);
        left -= n;
        if (!req.write(n === unit.length ? unit : unit.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    pump();
  });
}

describe('a large API body', () => {
  it('is read and decoded with a peak of less than 2.5 times its size', async () => {
    const width = 12_000;
    const height = 10_000; // 120 MB of mask pixels: 160 MB of base64
    const chars = (width * height * 4) / 3;
    const before = process.memoryUsage().rss;
    const r = await postLargeMask(chars, width, height);
    const peak = process.resourceUsage().maxRSS * 1024;
    expect(r.status, r.body.slice(0, 300)).toBe(200);
    expect(received).toEqual({ bytes: width * height, sample: [1, 2, 3, 1, 2, 3] });
    const increase = peak - before;
    const bodyBytes = chars + 100;
    console.log(`body ${(bodyBytes / 1e6).toFixed(0)} MB, rss before ${(before / 1e6).toFixed(0)} MB, peak ${(peak / 1e6).toFixed(0)} MB: +${(increase / bodyBytes).toFixed(2)}x the body`);
    expect(increase).toBeLessThan(2.5 * bodyBytes);
  }, 120_000);
});
