/**
 * Whether a process with this pid exists on this host (signal 0 checks without sending; EPERM: it
 * exists, owned by someone else). The project lease and the ensemble lock use it.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
