import { validateConfig, type ConfigInput } from '../../src/config/index.ts';
import { Platform, type PlatformComponents } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';

/**
 * A real platform (SQLite stream, alert store, lake) in a temp dir, HTTP on a free port. Authentication is off unless
 * the test turns it on (`security: { enabled: true }`): these suites are about the pipeline; test/security is about access.
 */
export async function startTestPlatform(components: PlatformComponents, config: ConfigInput = {}): Promise<{ platform: Platform; url: string; cleanup: () => Promise<void> }> {
  const tmp = tempDir('dw-server-');
  const platform = await Platform.open(validateConfig({ security: { enabled: false }, ...config, dataDir: tmp.dir, http: { port: 0, host: '127.0.0.1' } }));
  await platform.start(components);
  return {
    platform,
    url: platform.address ?? '',
    cleanup: async () => {
      await platform.stop();
      tmp.cleanup();
    },
  };
}

export function report(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    droneId: 'drone-00042',
    timestamp: new Date(Date.now() - 60_000).toISOString(),
    position: { lat: 48.8566, lon: 2.3522 },
    citizens: [{ name: 'Jeanne Martin', score: 80 }],
    words: ['bonjour'],
    ...overrides,
  };
}
