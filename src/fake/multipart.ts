/**
 * Just enough multipart/form-data parsing (RFC 7578) for the fake's /v1/files and /v1/stt: part names,
 * filenames and bytes. The raw body is recorded separately, byte for byte.
 */

export interface MultipartPart {
  readonly name: string;
  readonly filename: string | undefined;
  readonly contentType: string | undefined;
  readonly data: Buffer;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data\b/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function headerParam(header: string, param: string): string | undefined {
  const m = new RegExp(`;\\s*${param}="([^"]*)"`, 'i').exec(header) ?? new RegExp(`;\\s*${param}=([^;\\s]+)`, 'i').exec(header);
  return m?.[1];
}

/** Parts in body order; null when the body is not well-formed multipart for this boundary. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] | null {
  const first = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  if (!body.subarray(0, first.length).equals(first)) return null;
  const parts: MultipartPart[] = [];
  let pos = first.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') return parts;
    if (body.subarray(pos, pos + 2).toString('latin1') !== '\r\n') return null;
    const headersEnd = body.indexOf('\r\n\r\n', pos + 2, 'latin1');
    const end = body.indexOf(next, pos + 2);
    if (headersEnd < 0 || end < 0 || headersEnd > end) return null;
    const headerLines = body.subarray(pos + 2, headersEnd).toString('utf8').split('\r\n');
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const i = line.indexOf(':');
      if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const disposition = headers.get('content-disposition') ?? '';
    parts.push({
      name: headerParam(disposition, 'name') ?? '',
      filename: headerParam(disposition, 'filename'),
      contentType: headers.get('content-type'),
      data: body.subarray(headersEnd + 4, end),
    });
    pos = end + next.length;
  }
}
