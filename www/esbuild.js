/**
 * The widget for esbuild, which does not copy files named by `new URL('./…', import.meta.url)`
 * (Vite, webpack 5 and Parcel do: they import the package's main entry). Here the .wasm is a
 * static import, which esbuild's `file` loader copies into the output folder (the one line of
 * configuration: `loader: { '.wasm': 'file' }`), and each text catalog a dynamic JSON import,
 * which esbuild bundles by itself (a separate chunk, fetched only for a language a page shows,
 * with `splitting: true`). The bundle must be an ES module (`format: 'esm'`): the .wasm's URL is
 * resolved against the bundle's own `import.meta.url`.
 */
import wasm from './captchaai_balance_bg.wasm';
import { setAssets } from './captchaai-balance.js';

setAssets({
  wasm: new URL(wasm, import.meta.url),
  catalogs: {
    en: () => import('./messages/en.json'),
    id: () => import('./messages/id.json'),
  },
});

export * from './captchaai-balance.js';
