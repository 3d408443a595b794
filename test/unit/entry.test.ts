import { afterEach, describe, expect, it, vi } from 'vitest';

/** Imports `module` afresh, as a new execution environment would, with TABLE_NAME unset. */
async function importWithoutTable(module: string): Promise<Record<string, unknown>> {
  vi.resetModules();
  vi.stubEnv('TABLE_NAME', '');
  return import(module);
}

describe('the handler module and the Lambda entry', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('the handler module loads without any configuration (it builds nothing on import)', async () => {
    // Act
    const module = await importWithoutTable('../../lambda/handler');
    // Assess
    expect(Object.keys(module).sort()).toEqual(['buildHandler']);
  });

  it('the entry fails at init, naming the missing variable', async () => {
    // Act
    const loading = importWithoutTable('../../lambda/entry');
    // Assess
    await expect(loading).rejects.toMatchObject({ name: 'ConfigError', message: 'TABLE_NAME must be set' });
  });
});
