import { signDevelopmentToken } from '../pipeline/auth/sign.ts';
import type { Config } from '../pipeline/config/index.ts';

/**
 * `msgxc token <uid> [--admin] [--service] [--ttl=3600]`: signs an HS256 token with the configured
 * secret, so a developer can call the API and open a WebSocket against `npm start`. It refuses to
 * run in production: real tokens come from the organisation's identity provider.
 */
export async function run(config: Config, args: string[]): Promise<number> {
  const uid = args.find((arg) => !arg.startsWith('--'));
  const ttl = Number(args.find((arg) => arg.startsWith('--ttl='))?.slice('--ttl='.length) ?? 3600);
  if (!uid || !Number.isInteger(ttl) || ttl <= 0) {
    console.error('usage: msgxc token <uid> [--admin] [--service] [--ttl=seconds]');
    return 2;
  }
  if (config.env === 'production' || config.auth.algorithm !== 'HS256' || !config.auth.secret) {
    console.error('msgxc token signs development tokens only: it needs HS256 and MSGXC_ENV other than production');
    return 1;
  }
  const roles = [
    ...(args.includes('--admin') ? [config.auth.adminRole] : []),
    ...(args.includes('--service') ? [config.auth.serviceRole] : []),
  ];
  const token = await signDevelopmentToken({
    secret: config.auth.secret,
    sub: uid,
    roles,
    rolesClaim: config.auth.rolesClaim,
    expiresIn: `${ttl}s`,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  console.log(token);
  return 0;
}
