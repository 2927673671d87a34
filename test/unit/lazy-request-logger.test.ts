import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from '../../src/http/lazy-request-logger.js';

/** A pino logger writing parsed lines to an array, seen through a parent that counts the children built of it. */
function capture(level: string): { lines: Record<string, unknown>[]; root: pino.Logger; logger: pino.Logger; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const root = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  let built = 0;
  const logger = Object.create(root) as pino.Logger;
  logger.child = ((bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => {
    built += 1;
    return root.child(bindings, options);
  }) as unknown as typeof root.child;
  return { lines, root, logger, children: () => built };
}

describe('lazyChildLogger', () => {
  it('builds no child until a line is logged', () => {
    const { logger, children, lines } = capture('info');
    const log = lazyChildLogger(logger, { reqId: 'r-1' }, {});
    expect(log.level).toBe('info');
    expect(children()).toBe(0);
    log.info({ status: 200 }, 'request');
    log.warn('second');
    expect(children()).toBe(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ reqId: 'r-1', status: 200, msg: 'request', level: 30 });
    expect(lines[1]).toMatchObject({ reqId: 'r-1', msg: 'second', level: 40 });
  });

  it('keeps pino semantics: levels below the threshold write nothing (and build nothing), errors are serialised, format args apply', () => {
    const { logger, lines, children } = capture('warn');
    const log = lazyChildLogger(logger, { reqId: 'r-2' }, {});
    log.info('hidden');
    log.debug({ a: 1 }, 'hidden too');
    expect((log as unknown as pino.Logger).isLevelEnabled('info')).toBe(false);
    expect((log as unknown as pino.Logger).isLevelEnabled('error')).toBe(true);
    expect(children()).toBe(0);
    log.error({ err: new Error('boom') }, 'failed %s', 'here');
    expect(lines).toHaveLength(1);
    expect(children()).toBe(1);
    expect(lines[0]).toMatchObject({ reqId: 'r-2', msg: 'failed here', level: 50 });
    expect((lines[0]?.err as { message?: string }).message).toBe('boom');
  });

  it('follows a level change of the parent (a config reload)', () => {
    const { root, logger, lines } = capture('warn');
    const log = lazyChildLogger(logger, { reqId: 'r-4' }, {});
    log.info('hidden');
    root.level = 'info';
    log.info('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });

  it('passes the child options (level) and nests further children', () => {
    const { logger, lines } = capture('info');
    const log = lazyChildLogger(logger, { reqId: 'r-3' }, { level: 'error' });
    expect(log.level).toBe('error');
    log.warn('dropped');
    log.child({ part: 'x' }).error('kept');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reqId: 'r-3', part: 'x', msg: 'kept' });
  });
});
