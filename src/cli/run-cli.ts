import { createAdminClient, ConnectionError, type FetchLike } from './admin-client.js';
import { adminTokenFrom } from './admin-token.js';
import { formatAnswer } from './format-answer.js';
import { helpText } from './help-text.js';
import { parseCommand } from './parse-command.js';
import { printable } from './text-table.js';

/**
 * One CLI run, with every effect passed in (argv, environment, fetch, output), so it is testable without a
 * process or a socket. Answers the exit code: 0 ok, 1 the gateway refused or could not be reached, 2 usage.
 */
export interface CliIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  fetch: FetchLike;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  version: string;
  timeoutMs?: number;
}

export const EXIT_OK = 0;
export const EXIT_API_ERROR = 1;
export const EXIT_USAGE = 2;

const PROGRAM = 'xai-gateway';
const DEFAULT_TIMEOUT_MS = 60_000;
/** Shorter strings are not redacted from output: they could match ordinary text. The gateway requires 16+. */
const MIN_REDACTED_TOKEN = 8;

export async function runCli(io: CliIo): Promise<number> {
  const parsed = parseCommand(io.argv, io.env);
  switch (parsed.kind) {
    case 'help':
      io.stdout(helpText(parsed.topic));
      return EXIT_OK;
    case 'version':
      io.stdout(`${io.version}\n`);
      return EXIT_OK;
    case 'usage-error':
      // The help first and the problem last, where the eye lands after a long text.
      io.stderr(`${helpText(parsed.topic)}\n${PROGRAM}: ${printable(parsed.message)}\n`);
      return EXIT_USAGE;
    case 'run':
      break;
  }
  const { command } = parsed;
  const token = adminTokenFrom(io.env);
  if (!token.ok) {
    io.stderr(`${PROGRAM}: ${token.problem}\n`);
    return EXIT_USAGE;
  }
  // Belt and braces: whatever is printed, the admin token is not (docs/threat-model.md).
  const hide = (text: string): string => (token.token.length >= MIN_REDACTED_TOKEN ? text.split(token.token).join('[admin token]') : text);
  const out = (text: string): void => io.stdout(hide(text));
  const err = (text: string): void => io.stderr(hide(text));

  if (sendsTokenInClear(command.baseUrl)) err(`${PROGRAM}: warning: the admin token travels unencrypted to ${command.baseUrl} (http, not a loopback address)\n`);
  const client = createAdminClient({ baseUrl: command.baseUrl, token: token.token, fetch: io.fetch, timeoutMs: io.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  let answer;
  try {
    answer = command.pageAll ? await client.sendAll(command.request) : await client.send(command.request);
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    err(`${PROGRAM}: ${printable(error.message)}\n`);
    return EXIT_API_ERROR;
  }
  if (!answer.ok) {
    err(`${PROGRAM}: ${answer.code === null ? 'error' : printable(answer.code)}: ${printable(answer.message)} (HTTP ${answer.status})\n`);
    return EXIT_API_ERROR;
  }
  out(`${command.json ? JSON.stringify(answer.body, null, 2) : formatAnswer(command.view, answer.body)}\n`);
  return EXIT_OK;
}

function sendsTokenInClear(baseUrl: string): boolean {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return !(host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host));
}
