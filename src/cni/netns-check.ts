import { statfs } from 'node:fs/promises';

/** f_type of nsfs, the filesystem behind /proc/<pid>/ns/net and its bind mounts. */
const NSFS_MAGIC = 0x6e736673;

/**
 * Says what is wrong with a CNI_NETNS path, or undefined when it is a namespace file.
 * Checked before contacting the agent so a runtime bug shows up as a clear local error
 * instead of a half-done ADD that the agent has to roll back.
 */
export async function checkNetnsPath(path: string): Promise<string | undefined> {
  if (!path.startsWith('/')) return `CNI_NETNS "${path}" is not an absolute path`;
  try {
    const st = await statfs(path);
    if (st.type !== NSFS_MAGIC) return `CNI_NETNS ${path} is not a network namespace (not on nsfs)`;
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `CNI_NETNS ${path} does not exist`;
    return `CNI_NETNS ${path} cannot be inspected: ${(e as Error).message}`;
  }
}
