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
import { spawnSync } from 'node:child_process';

/**
 * Asks the filesystem to spread `dir`'s subdirectories over its block groups (ext4's TOPDIR
 * attribute). Best effort: false when it could not be set (no chattr, a filesystem without the
 * attribute); the directory works the same either way. One short process, so call it when `dir`
 * is made, not on every open.
 */
export function spreadSubdirs(dir: string): boolean {
  const r = spawnSync('chattr', ['+T', dir], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}
