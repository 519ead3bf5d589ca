/**
 * Peak resident memory while reading a PyTorch checkpoint, against the file's size (issue 12: under 2×).
 *
 *   /usr/bin/python3 tools/reference/weights_reference.py big /tmp/big.pth   # ~170 MB, written by torch
 *   npm run bench:weights-memory -- /tmp/big.pth
 *
 * The read is synchronous, so a sampling timer would never fire during it: the peak is the kernel's
 * high-water mark of this process (VmHWM), Node's own baseline included.
 */
import { readFileSync, statSync } from 'node:fs';
import { readPytorchCheckpoint } from '../../src/ml/weights/pytorch-checkpoint';

function highWaterMarkBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('/proc/self/status has no VmHWM line (Linux only)');
  return Number(match[1]) * 1024;
}

const path = process.argv[2];
if (!path) throw new Error('usage: bench:weights-memory -- CHECKPOINT.pth');
const fileBytes = statSync(path).size;
const baseline = process.memoryUsage().rss;
const started = performance.now();
const tensors = readPytorchCheckpoint(path);
const seconds = (performance.now() - started) / 1000;
const peak = highWaterMarkBytes();
const values = [...tensors.values()].reduce((sum, t) => sum + t.data.byteLength, 0);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
console.log(
  JSON.stringify({
    file: path,
    fileMB: mb(fileBytes),
    tensors: tensors.size,
    float32MB: mb(values),
    seconds: seconds.toFixed(2),
    baselineRssMB: mb(baseline),
    peakRssMB: mb(peak),
    peakOverFile: (peak / fileBytes).toFixed(2),
  }),
);
