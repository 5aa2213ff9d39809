/**
 * Node module hooks that let tests import the browser client's `*.svelte.ts`
 * state classes as the browser runs them: TypeScript types are stripped, then
 * the Svelte compiler turns the runes ($state, $derived) into the client
 * runtime's signals. `svelte` and `svelte/*` resolve to their browser builds
 * (the default export condition in Node is the server build, whose SvelteMap
 * and SvelteSet are not reactive).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { compileModule } from 'svelte/compiler';

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'svelte' || specifier.startsWith('svelte/')) {
    return nextResolve(specifier, { ...context, conditions: ['browser', ...context.conditions] });
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.svelte.ts')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const source = await readFile(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      // Class fields must stay fields: the compiler turns `x = $state(…)` fields into signals.
      useDefineForClassFields: true,
      verbatimModuleSyntax: false,
    },
  });
  const { js } = compileModule(outputText, { filename, generate: 'client', dev: false });
  return { format: 'module', source: js.code, shortCircuit: true };
}
