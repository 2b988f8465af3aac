import QRCode from 'qrcode';
import type { Logger } from 'pino';

export type QrFormat = 'text' | 'svg' | 'png';

export const QR_CONTENT_TYPES: Record<QrFormat, string> = {
  text: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
};

/** A QR payload as block characters (a terminal, or GET /sessions/:id/qr?format=text), an SVG or a PNG. */
export async function renderQr(payload: string, format: QrFormat): Promise<string | Buffer> {
  switch (format) {
    case 'text':
      return QRCode.toString(payload, { type: 'utf8', errorCorrectionLevel: 'L' });
    case 'svg':
      return QRCode.toString(payload, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 });
    case 'png':
      return QRCode.toBuffer(payload, { type: 'png', errorCorrectionLevel: 'L', margin: 2, scale: 6 });
  }
}

/** Shows each fresh QR: a log line naming the route, and the QR drawn on stderr when that is a terminal. */
export function terminalQr(logger: Logger): (sessionId: string, qr: string) => void {
  return (sessionId, qr) => {
    logger.info({ sessionId, qr: `GET /sessions/${sessionId}/qr` }, 'WhatsApp pairing: a new QR is on offer');
    if (!process.stderr.isTTY) return;
    renderQr(qr, 'text').then(
      (art) => process.stderr.write(`\nScan with WhatsApp (Linked devices) to pair session ${sessionId}:\n${String(art)}\n`),
      (error: unknown) => logger.warn({ err: error }, 'could not draw the QR'),
    );
  };
}
