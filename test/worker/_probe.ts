// Static C probes for syscalls busybox has no applet for, compiled at test time with the host's cc
// and copied into a busybox snapshot. Without a C compiler the caller skips with the reason.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileOp } from '../../src/llb/index.ts';
import type { TestWorker } from './_setup.ts';

export type ProbeBuild = { dir: string; cleanup(): void } | { skip: string };

/** Compiles `source` to `<dir>/probe` with `cc -static`, or says why it cannot. */
export function compileProbe(source: string): ProbeBuild {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
  } catch {
    return { skip: 'no C compiler (cc) installed: raw syscall probe skipped' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-probe-'));
  writeFileSync(join(dir, 'probe.c'), source);
  try {
    execFileSync('cc', ['-static', '-O2', '-o', join(dir, 'probe'), join(dir, 'probe.c')], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cc -static failed (static libc missing?): raw syscall probe skipped: ${String((e as { stderr?: Buffer }).stderr ?? e).slice(0, 300)}` };
  }
  rmSync(join(dir, 'probe.c'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A busybox snapshot with the probe at /probe. */
export async function busyboxWithProbe(w: TestWorker, dir: string): Promise<string> {
  const addProbe: FileOp = {
    kind: 'file', base: 0,
    actions: [{ action: 'copy', from: 1, src: ['/probe'], dest: '/probe', copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true }],
  };
  return w.worker.run(addProbe, [{ type: 'snapshot', id: await w.busybox() }, { type: 'local', dir, excludePatterns: [] }], w.ctx);
}
