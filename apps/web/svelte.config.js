/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  compilerOptions: {
    // Every component uses runes ($state, $props, ...); legacy syntax is an error.
    runes: true,
  },
};
