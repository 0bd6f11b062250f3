import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Follows growing log files without reading anything twice: the reader keeps the open file and
 * its offset; each `read()` returns at most `maxBytes` of what is new. Rotation by rename (the
 * path now names another inode) drains the old file to its end first, then follows the new one
 * from its start; truncation (size below the offset) restarts at 0. When more than
 * `maxBacklogBytes` is waiting, the reader skips ahead and counts the skipped bytes rather than
 * falling further behind: a huge log never stalls a cycle.
 */

export interface TailLimits {
  maxBytes: number;
  maxBacklogBytes: number;
  chunkBytes: number;
}

export const DEFAULT_TAIL_LIMITS: TailLimits = {
  maxBytes: 1 << 20,
  maxBacklogBytes: 16 << 20,
  chunkBytes: 64 << 10,
};

export interface TailRead {
  /** Text read this time, in file order; `rotated` marks where an old file ended. */
  chunks: { text: string; endOfFile: boolean }[];
  bytes: number;
  skippedBytes: number;
  rotated: boolean;
  truncated: boolean;
}

export class FileTail {
  private handle: FileHandle | undefined;
  private ino: number | undefined;
  private offset = 0;

  constructor(
    readonly path: string,
    private readonly limits: TailLimits = DEFAULT_TAIL_LIMITS,
    /** Start at the end of a file that exists at the first read: history before start-up is not news. */
    private startAtEnd = true,
  ) {}

  async read(): Promise<TailRead> {
    const out: TailRead = { chunks: [], bytes: 0, skippedBytes: 0, rotated: false, truncated: false };
    const current = await stat(this.path).catch(() => undefined);
    if (this.handle !== undefined && current?.ino !== this.ino) {
      // Rotated (or removed): finish the old file, still open, within the budget; then switch.
      const oldSize = (await this.handle.stat()).size;
      await this.drain(out, oldSize);
      out.skippedBytes += oldSize - this.offset;
      out.chunks.push({ text: '', endOfFile: true });
      out.rotated = true;
      await this.close();
    }
    this.startAtEnd &&= current !== undefined;
    if (this.handle === undefined) {
      if (current === undefined) return out;
      this.handle = await open(this.path, 'r');
      this.ino = current.ino;
      this.offset = this.startAtEnd ? current.size : 0;
      this.startAtEnd = false;
    }
    const size = (await this.handle.stat()).size;
    if (size < this.offset) {
      out.truncated = true;
      this.offset = 0;
    }
    await this.drain(out, size);
    return out;
  }

  private async drain(out: TailRead, size: number): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    const budget = this.limits.maxBytes - out.bytes;
    if (budget <= 0) return;
    if (size - this.offset > this.limits.maxBacklogBytes) {
      const skipTo = size - this.limits.maxBytes;
      out.skippedBytes += skipTo - this.offset;
      this.offset = skipTo;
    }
    const end = Math.min(size, this.offset + budget);
    const buf = Buffer.alloc(Math.min(this.limits.chunkBytes, Math.max(0, end - this.offset)));
    while (this.offset < end) {
      const want = Math.min(buf.length, end - this.offset);
      const { bytesRead } = await handle.read(buf, 0, want, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      out.bytes += bytesRead;
      out.chunks.push({ text: buf.toString('utf8', 0, bytesRead), endOfFile: false });
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    this.ino = undefined;
    this.offset = 0;
  }
}

/** `*` and `?` wildcards on a file name (no directories): `*.log`, `flink-*-taskexecutor-?.log`. */
export function matchesGlob(name: string, glob: string): boolean {
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(name);
}

/** The files of `dir` whose names match `glob`, sorted. */
export async function listLogFiles(dir: string, glob: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter(e => e.isFile() && matchesGlob(e.name, glob))
    .map(e => join(dir, e.name))
    .sort();
}
