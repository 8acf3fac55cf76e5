/** The parts of `http_ece` (RFC 8188/8291, no bundled types) the local Web Push service uses. */
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';

  interface Parameters {
    version: 'aes128gcm' | 'aesgcm';
    privateKey?: ECDH;
    dh?: string;
    authSecret?: string;
    salt?: string;
    rs?: number;
  }
  const ece: {
    decrypt(buffer: Buffer, parameters: Parameters): Buffer;
    encrypt(buffer: Buffer, parameters: Parameters): Buffer;
  };
  export default ece;
}
