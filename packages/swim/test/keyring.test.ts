import t from 'tap';
import { Keyring, KeyringError } from '../src/wire/keyring.js';

t.test('keys are 32 bytes, given raw or as base64', async (t) => {
  t.throws(() => new Keyring([]), KeyringError);
  t.throws(() => new Keyring([Buffer.alloc(16).toString('base64')]), /32 bytes/);
  const raw = new Uint8Array(32).fill(7);
  const ring = new Keyring([raw, Buffer.from(raw).toString('base64')]);
  t.equal(ring.keys().length, 1, 'duplicates collapse');
  t.same([...ring.primary], [...raw]);
});

t.test('rotation: install, use, remove; old keys still open until removed', async (t) => {
  const k1 = Keyring.generateKey();
  const k2 = Keyring.generateKey();
  const a = new Keyring([k1]);
  const b = new Keyring([k1]);
  const aad = Uint8Array.of(1, 1);
  const msg = Buffer.from('hello');
  t.same(b.open(aad, a.seal(aad, msg)), msg);

  a.install(k2);
  b.install(k2);
  t.same(b.open(aad, a.seal(aad, msg)), msg, 'still sealed with k1');
  a.use(k2);
  t.same(Buffer.from(a.primary).toString('base64'), k2);
  t.same(b.open(aad, a.seal(aad, msg)), msg, 'b opens k2 while its primary is k1');
  t.same(a.open(aad, b.seal(aad, msg)), msg, 'a opens k1 while its primary is k2');
  b.use(k2);
  t.throws(() => a.remove(k2), /primary/);
  a.remove(k1);
  b.remove(k1);
  t.equal(a.keys().length, 1);
  t.same(b.open(aad, a.seal(aad, msg)), msg);
  const stale = new Keyring([k1]);
  t.equal(a.open(aad, stale.seal(aad, msg)), null, 'a removed key no longer opens');
  t.throws(() => a.use(Keyring.generateKey()), /not installed/);
  t.equal(a.open(aad, new Uint8Array(10)), null, 'short input');
});
