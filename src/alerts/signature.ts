import { createHmac } from 'node:crypto';

/** `x-xgw-signature`: `sha256=` and the hex HMAC-SHA256 of the raw body with the webhook's secret. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
