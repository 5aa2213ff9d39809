/**
 * Podman for the container tests (test/deploy): the flags this host needs, whether podman and the
 * images are here, and a bounded call. Without CI a missing podman or image skips a test with the
 * reason; under CI=true the test fails (see requireImages).
 */
import { execFile, spawnSync } from 'node:child_process';

/** Every podman call: runc (crun fails on these hosts). */
export const PODMAN = ['--runtime', 'runc'];
/** Every `podman run`: explicit ulimits (podman's defaults fail here), the host's network on 127.0.0.1. */
export const RUN_FLAGS = ['--network', 'host', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096'];
export const SERVER_IMAGE = 'localhost/chorus-server:local';
export const CLIENT_IMAGE = 'localhost/chorus-client:local';

/** Why the container tests cannot run here (no podman, an image not built), or null. */
export function podmanMissing(images: readonly string[]): string | null {
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman is not installed (apt-get install -y podman debootstrap runc)';
  for (const image of images) {
    if (spawnSync('podman', [...PODMAN, 'image', 'exists', image]).status !== 0)
      return `${image} is not built (deploy/local/build-images.sh)`;
  }
  return null;
}

/** Runs `podman ...args`, bounded; resolves with its stdout, rejects with its stderr. */
export function podman(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('podman', [...PODMAN, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`podman ${args.slice(0, 2).join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Removes a container this test started, by its name (and its anonymous volumes). */
export async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '-f', '-v', '-t', '2', name], 30_000).catch(() => {});
}
