import { openBackend, type Backend } from '../../backend/open.ts';
import type { Config } from '../../config/index.ts';

/**
 * Runs a CLI command's work with the deployment's backend (src/backend/), closing whatever it opened afterwards. No WAL
 * checkpoint threads: the command writes little and exits, and starting them was a third of `alerts ack`'s time.
 */
export async function withBackend<T>(config: Config, fn: (backend: Backend) => Promise<T> | T): Promise<T> {
  const backend = await openBackend(config, { checkpointThreads: false });
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}
