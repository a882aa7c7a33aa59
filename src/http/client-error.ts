import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';
import { v4 as uuidv4 } from 'uuid';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import { ALWAYS_SENT_HEADERS, DEFAULT_CACHE_CONTROL } from './middleware.js';
import { renderProblem } from './problem.js';

type ClientError = Error & { code?: string; reason?: string; rawPacket?: Buffer };

const CODE_OF: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
};

const DETAIL_OF: Partial<Record<ErrorCode, string>> = {
  headers_too_large: 'The request headers exceed the size this server reads.',
  request_timeout: 'The request did not arrive completely in time.',
};

/**
 * What Node's HTTP parser refuses before the app sees a request (bad framing, a negative or
 * doubled Content-Length, oversized headers, a request too slow to arrive) is answered as any
 * other error is: problem+json with a request id, then the connection is closed, as it must be
 * once the framing cannot be trusted.
 */
export function answerClientError(error: ClientError, socket: Duplex, logger: Logger): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const code = CODE_OF[error.code ?? ''] ?? 'malformed_request';
  const detail = DETAIL_OF[code] ?? `The request is not valid HTTP/1.1${error.reason ? `: ${error.reason}` : ''}.`;
  const requestId = uuidv4();
  const target = /^[A-Z]+ (\/[\x21-\x7e]{0,500}) HTTP\//.exec(error.rawPacket?.toString('latin1', 0, 600) ?? '')?.[1];
  const { status, body } = renderProblem(new DomainError(code, detail), target?.split('?')[0] ?? '*', requestId);
  const text = JSON.stringify(body);
  logger.info({ request_id: requestId, status, code: error.code }, 'request refused by the HTTP parser');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      Object.entries({ ...ALWAYS_SENT_HEADERS, 'Cache-Control': DEFAULT_CACHE_CONTROL })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      `X-Request-Id: ${requestId}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
}
