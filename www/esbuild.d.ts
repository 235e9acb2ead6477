/** The esbuild entry re-exports the element's module (captchaai-balance.d.ts). */
export * from './captchaai-balance.js';
