/**
 * A small tmpfs the test controls, for filling a disk on purpose (needs root or CAP_SYS_ADMIN;
 * `mountTmpfs` returns the reason instead when mounting is not permitted, so the caller can
 * skip with a clear message). Unmount in afterAll.
 */
import { execFileSync } from 'child_process';
import { tempDir } from './processes';

export interface Tmpfs {
  dir: string;
  /** Changes the size limit (mount -o remount). */
  resize(bytes: number): void;
  unmount(): void;
}

export function mountTmpfs(bytes: number, name = 'tmpfs'): Tmpfs | { unavailable: string } {
  const dir = tempDir(name);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return { unavailable: `cannot mount a tmpfs at ${dir} (${stderr || (error as Error).message}); run as root to test a full disk` };
  }
  let mounted = true;
  return {
    dir,
    resize: (size: number) => void execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'pipe' }),
    unmount: () => {
      if (!mounted) return;
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      mounted = false;
    },
  };
}
