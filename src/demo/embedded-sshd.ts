/**
 * A small SSH server embedded with ssh2, for the demo on machines without OpenSSH: public-key
 * authentication against one key, and a real /bin/sh behind every exec request (signals are
 * delivered, exit status reported), so the orchestrator is exercised as against sshd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';

export interface EmbeddedSshd {
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedSshd(opts: {
  hostPrivateKey: string;
  authorizedPublicKey: string;
  username: string;
  address?: string;
}): Promise<EmbeddedSshd> {
  const allowed = ssh2.utils.parseKey(opts.authorizedPublicKey);
  if (allowed instanceof Error) throw allowed;
  const allowedBlob = allowed.getPublicSSH();
  const children = new Set<ChildProcess>();

  const server = new ssh2.Server({ hostKeys: [opts.hostPrivateKey] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== opts.username) return ctx.reject(['publickey']);
      const offered = ctx.key.data;
      if (
        ctx.key.algo !== allowed.type ||
        offered.length !== allowedBlob.length ||
        !timingSafeEqual(offered, allowedBlob)
      ) {
        return ctx.reject(['publickey']);
      }
      // Without a signature the client is only asking whether the key would do.
      if (!ctx.signature) return ctx.accept();
      return allowed.verify(ctx.blob ?? Buffer.alloc(0), ctx.signature, ctx.hashAlgo) === true
        ? ctx.accept()
        : ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        let child: ChildProcess | undefined;
        session.on('signal', (accept, _reject, info) => {
          accept?.();
          child?.kill(`SIG${info.name}` as NodeJS.Signals);
        });
        session.on('exec', (accept, _reject, info) => {
          const channel = accept();
          const proc = spawn('/bin/sh', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'] });
          child = proc;
          children.add(proc);
          channel.pipe(proc.stdin);
          proc.stdout.pipe(channel, { end: false });
          proc.stderr.pipe(channel.stderr, { end: false });
          proc.on('close', (code, signal) => {
            children.delete(proc);
            if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
            else channel.exit(code ?? 0);
            channel.end();
          });
          channel.on('close', () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
          });
        });
      });
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.address ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of children) c.kill('SIGKILL');
        server.close(() => resolve());
      }),
  };
}
