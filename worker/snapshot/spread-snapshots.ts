// Where ext4 puts the files of a new snapshot. A new directory normally goes into its parent's
// block group and its files follow it, so every snapshot of every state root under /tmp lands in
// the groups where the last root's 40,000 files were just deleted (`rm -rf` of a root, a prune).
// Without a journal (this machine's ext4, and any made with `-O ^has_journal`), ext4 does not reuse
// an inode freed in the last 60 s (300 s while its table block is dirty) and, for every inode it
// allocates, scans past each such inode in the group from its start (fs/ext4/ialloc.c,
// find_inode_bit → recently_deleted): a 20,000-file COPY right after a root was removed spent
// 8-10 s of system time there where the same copy into a fresh group took 0.8 s (`perf record`).
//
// The remedy is ext4's own: the TOPDIR attribute (`chattr +T`) makes the Orlov allocator treat a
// directory as the top of a hierarchy and spread its subdirectories over the emptiest block groups
// (starting at a hash of the name, and snapshot names are random), as it does for the directories
// in `/`. Below each snapshot, files stay next to their directory as before. Other filesystems
// ignore or refuse the attribute: then nothing changes.
//
// It is set once, on a new root (no snapshot recorded yet), by the syscall helper's ioctl: on a new
// root the helper is started for the overlay probe anyway, where a `chattr` process cost a fork of
// Node (5-25 ms with the event loop blocked). The worker does not wait for it: the attribute only
// steers directories made after it, and the first few snapshots may come before.
import { spawn } from 'node:child_process';
import { setTopdir } from '../syscall-helper.ts';

/**
 * Asks the filesystem to spread `dir`'s subdirectories over its block groups (ext4's TOPDIR
 * attribute). Best effort: false when it could not be set (a filesystem without the attribute);
 * the directory works the same either way. Through the syscall helper; `chattr` when there is none.
 */
export async function spreadSubdirs(dir: string): Promise<boolean> {
  const errno = await setTopdir(dir);
  if (errno !== undefined) return errno === 0;
  return new Promise((resolve) => {
    const child = spawn('chattr', ['+T', dir], { stdio: 'ignore', timeout: 5000 });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}
