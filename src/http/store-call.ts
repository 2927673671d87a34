import { errors, GatewayError } from '../errors.js';

/** Store failures (Redis down) fail closed as 503 store_unavailable (SPEC §4); the gateway's own errors pass. */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw errors.storeUnavailable(err);
  }
}
