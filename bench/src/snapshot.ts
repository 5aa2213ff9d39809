import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { ROOT } from './systems.js';

/** A copy of the Chorus server build that a rebuild during the run cannot change. */
export interface ChorusSnapshot {
  /** The copy's main.js. */
  readonly entry: string;
  dispose(): void;
}

/**
 * Copies the server's build (apps/server/dist) and the workspace packages it
 * imports (their dist) into a temporary tree whose node_modules links to the
 * repository's for everything else: a full run takes many minutes, and a
 * `npm run build` meanwhile (tests, a colleague) must not change what is
 * measured halfway. Returns null when `entry` is not this repository's server
 * build (a --chorus path is used as given).
 */
export function snapshotChorus(entry: string): ChorusSnapshot | null {
  const serverDir = join(ROOT, 'apps/server');
  if (entry !== join(serverDir, 'dist/main.js')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'chorus-bench-build-'));
  const copyPackage = (from: string): string => {
    const to = join(dir, relative(ROOT, from));
    mkdirSync(to, { recursive: true });
    cpSync(join(from, 'package.json'), join(to, 'package.json'));
    cpSync(join(from, 'dist'), join(to, 'dist'), { recursive: true });
    return to;
  };
  copyPackage(serverDir);

  // node_modules: the repository's, except the workspace packages, which point at their copies.
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@chorus'), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== '@chorus' && !name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  const pkg = JSON.parse(readFileSync(join(serverDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@chorus/'))) {
    const source = realpathSync(join(ROOT, 'node_modules', dep));
    const copy = copyPackage(source);
    symlinkSync(copy, join(modules, dep));
  }
  const copied = join(dir, 'apps/server/dist/main.js');
  if (!existsSync(copied)) throw new Error(`snapshot of ${dirname(entry)} has no main.js`);
  return {
    entry: copied,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
