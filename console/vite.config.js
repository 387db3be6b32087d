// Vite builds the console into dist/: index.html and assets/ with content hashes in
// their names, which siyu serves itself (src/http/console.c). No CDN, no runtime fetch.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700, // ECharts' chunk, loaded by the chart pages only (the budget is scripts/budget.mjs)
    // siyu serves text assets only: inline nothing binary, keep file names hashed
    assetsInlineLimit: 0,
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]'
      }
    }
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } }
})
