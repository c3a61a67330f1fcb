// TLS for test engines, made the way docs/engines.md tells a trainer to: a CA, a server
// certificate for the engine's addresses, a client certificate for Flowlab. openssl, nothing kept.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

export interface EngineCerts {
  /** ca.pem, cert.pem and key.pem: what `flowlab engines add --tls-dir` is given. */
  clientDir: string;
  /** ca.pem, server-cert.pem and server-key.pem: what the engine's dockerd is given. */
  serverDir: string;
}

/** A CA, then a server certificate valid for `addresses` (IPs and names) and a client certificate, under `dir`. */
export function makeCerts(dir: string, addresses: string[], cn = 'flowlab-test-ca'): EngineCerts {
  const ca = join(dir, 'ca');
  const clientDir = join(dir, 'client');
  const serverDir = join(dir, 'server');
  for (const d of [ca, clientDir, serverDir]) mkdirSync(d, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', 'ca-key.pem', '-out', 'ca.pem'], ca);
  const sign = (name: string, ext: string, out: string) => {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', join(out, `${name}-key.pem`), '-out', join(out, `${name}.csr`)], ca);
    writeFileSync(join(out, `${name}.ext`), ext);
    openssl(['x509', '-req', '-in', join(out, `${name}.csr`), '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', join(out, `${name}.ext`), '-out', join(out, `${name}-cert.pem`)], ca);
  };
  const san = addresses.map((a) => (/^[\d.]+$/.test(a) ? `IP:${a}` : `DNS:${a}`)).join(',');
  sign('server', `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`, serverDir);
  sign('client', 'extendedKeyUsage=clientAuth\n', clientDir);
  execFileSync('cp', [join(ca, 'ca.pem'), join(serverDir, 'ca.pem')]);
  execFileSync('cp', [join(ca, 'ca.pem'), join(clientDir, 'ca.pem')]);
  execFileSync('mv', [join(clientDir, 'client-cert.pem'), join(clientDir, 'cert.pem')]);
  execFileSync('mv', [join(clientDir, 'client-key.pem'), join(clientDir, 'key.pem')]);
  return { clientDir, serverDir };
}
