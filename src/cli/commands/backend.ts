import { openBackend, type Backend } from '../../backend/open.ts';
import type { Config } from '../../config/index.ts';

/** Runs a CLI command's work with the deployment's backend (src/backend/), closing whatever it opened afterwards. */
export async function withBackend<T>(config: Config, fn: (backend: Backend) => Promise<T> | T): Promise<T> {
  const backend = await openBackend(config);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}
