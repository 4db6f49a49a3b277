/** EtcdKV: the KV contract on etcd (work in progress: the backend lands in the next commit). */
import { UnavailableError } from '../common/errors.js';

export interface EtcdKVOptions {
  endpoints: string[];
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
}

export class EtcdKV {
  constructor(options: EtcdKVOptions) {
    throw new UnavailableError(`etcd at ${options.endpoints.join(',')}: the etcd backend is not built yet`);
  }
}
