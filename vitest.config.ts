import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One fast-check seed per run, printed; fixed unless FC_SEED says otherwise (see the setup files).
    globalSetup: ['test/support/property-seed-global.ts'],
    setupFiles: ['test/support/property-seed.ts'],
    // The pinned SDK supports Node 20 (local runs); its notice about Node 22 only clutters the output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
