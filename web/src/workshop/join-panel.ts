// How the room gets in: the join code, the addresses learners can really open (the public URL,
// the server's interfaces; never the trainer's own 127.0.0.1 unless nothing else listens), a QR
// code of the first, and a full-screen view of all three for the projector.
import qrcode from 'qrcode-generator';
import type { JoinAddress } from '../protocol.ts';
import { button, el, fill } from '../dom.ts';

const SVG = 'http://www.w3.org/2000/svg';

/** A QR code of `text` as SVG elements (one path of dark modules), scalable to any size. */
export function qrSvg(text: string, label: string): SVGSVGElement {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const margin = 4;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n + margin * 2} ${n + margin * 2}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('class', 'qr');
  svg.dataset.qrFor = text;
  svg.dataset.modules = String(n);
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVG, 'path');
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + margin} ${r + margin}h1v1h-1z`;
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}

export interface JoinPanel {
  root: HTMLElement;
  update(code: string | null, addresses: JoinAddress[], ended: boolean): void;
}

export function joinPanel(): JoinPanel {
  const root = el('section', { class: 'join-box', 'aria-label': 'How learners join' });
  const projector = el('dialog', { class: 'projector', 'aria-label': 'Join the workshop (for the projector)' });
  let last = '';
  const update = (code: string | null, addresses: JoinAddress[], ended: boolean) => {
    const key = JSON.stringify([code, addresses, ended]);
    if (key === last) return;
    last = key;
    if (ended || !code) return fill(root);
    const reachable = addresses.filter((a) => !a.local);
    const shown = reachable.length > 0 ? reachable : addresses;
    const first = shown[0]?.url ?? `${location.origin}/`;
    const links = el('ul', { class: 'join-urls' }, ...shown.map((a) => el('li', {}, el('a', { href: a.url, 'data-join-url': a.url }, a.url))));
    const warning =
      reachable.length === 0
        ? el('p', { class: 'notice error', 'data-join-local': '' }, 'This server listens on this machine only: learners on their own laptops cannot reach it. Serve with --host 0.0.0.0, or set FLOWLAB_PUBLIC_URL to the address a proxy gives it.')
        : null;
    const show = button('Show for the projector', () => {
      fill(
        projector,
        el('p', { class: 'projector-lead' }, 'Open'),
        el('p', { class: 'projector-url' }, first),
        el('p', { class: 'projector-lead' }, 'and join with the code'),
        el('p', { class: 'projector-code', 'data-projector-code': code }, code),
        qrSvg(first, `QR code of ${first}`),
        shown.length > 1 ? el('p', { class: 'projector-more' }, `or ${shown.slice(1).map((a) => a.url).join(' · ')}`) : null,
        button('Close', () => projector.close(), { class: 'projector-close' }),
      );
      projector.showModal();
      void projector.requestFullscreen?.().catch(() => undefined);
    }, { 'data-projector': '' });
    fill(
      root,
      el('div', { class: 'join-text' }, el('span', {}, 'Join code '), el('strong', { class: 'join-code', 'data-join-code': code }, code), el('span', {}, ' at '), links, warning, show),
      qrSvg(first, `QR code of ${first}`),
      projector,
    );
  };
  projector.addEventListener('close', () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
  });
  return { root, update };
}
