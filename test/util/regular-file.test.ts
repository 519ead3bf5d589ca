/**
 * Files named by users are read as regular files only (security issue, item 4): a FIFO, a device, a
 * socket or a directory is refused at once, by what the open descriptor is, and never blocks the
 * calling thread. The weight loaders (initWeights names a file in the weights folder) use it too.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileReader } from '../../src/ml/weights/file-reader';
import { readSafetensors } from '../../src/ml/weights/safetensors';
import { NotRegularFileError, openRegularFile, readRegularFile, readRegularFileSync } from '../../src/util/regular-file';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-regular-file-'));
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  fs.writeFileSync(path.join(dir, 'plain'), 'bytes');
  fs.symlinkSync(path.join(dir, 'fifo'), path.join(dir, 'link-to-fifo'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('reads a regular file, and a symbolic link to one', async () => {
  expect((await readRegularFile(path.join(dir, 'plain'))).toString()).toBe('bytes');
  expect(readRegularFileSync(path.join(dir, 'plain')).toString()).toBe('bytes');
  const { handle, stat } = await openRegularFile(path.join(dir, 'plain'));
  expect(stat.size).toBe(5);
  await handle.close();
});

it('refuses a FIFO (also behind a symbolic link), a device, a socket and a directory without blocking, naming the kind only', async () => {
  const server = net.createServer();
  const socket = path.join(dir, 'socket');
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  try {
    const cases: [string, string][] = [
      [path.join(dir, 'fifo'), 'a FIFO, not a regular file'],
      [path.join(dir, 'link-to-fifo'), 'a FIFO, not a regular file'],
      ['/dev/zero', 'a character device, not a regular file'],
      [dir, 'a directory, not a regular file'],
    ];
    for (const [file, message] of cases) {
      await expect(readRegularFile(file)).rejects.toThrow(new NotRegularFileError(message.replace(', not a regular file', '')));
      expect(() => readRegularFileSync(file)).toThrow(message);
    }
    // A socket cannot be opened at all (ENXIO); it never blocks either.
    await expect(readRegularFile(socket)).rejects.toMatchObject({ code: 'ENXIO' });
  } finally {
    server.close();
  }
}, 10_000);

it('the weight loaders refuse a FIFO instead of blocking the training worker for ever', () => {
  expect(() => readSafetensors(path.join(dir, 'fifo'))).toThrow(/fifo: cannot read safetensors file: a FIFO, not a regular file/);
  expect(() => FileReader.open(path.join(dir, 'fifo'))).toThrow(/fifo: cannot open: a FIFO, not a regular file/);
});
