import { defineConfig } from "vite";

// The page lives in web/; `npm run web` serves it, `npm run web:build` writes web/dist.
export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  worker: { format: "es" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
});
