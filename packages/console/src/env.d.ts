// esbuild bundles the style sheet imported by main.tsx into dist/assets/main-[hash].css.
declare module '*.css';
