import QRCode from 'qrcode';

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
