/** Runs `kfashion <args>` in this process and returns what it wrote to stdout (console noise silenced). */
import { main } from '../../src/cli/main';

export async function runCli(args: string[]): Promise<string> {
  const chunks: string[] = [];
  // the backend choice and tfjs notices go to the console (stderr), not into the output on stdout
  const quiet = [jest.spyOn(console, 'error').mockImplementation(() => {}), jest.spyOn(console, 'warn').mockImplementation(() => {})];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await main(['node', 'kfashion', ...args]);
  } finally {
    spy.mockRestore();
    quiet.forEach((q) => q.mockRestore());
  }
  return chunks.join('');
}
