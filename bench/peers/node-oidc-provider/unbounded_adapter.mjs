// An in-memory adapter without a size limit, for bench/run. The peer's own in-memory adapter is
// an LRU cache of 1000 entries: with a few thousand seeded users it evicts refresh tokens in the
// middle of a run, and every later use of them fails. This one keeps everything until it
// expires (checked when read). It persists nothing, which favours the peer against Tessera's
// SQLite and PostgreSQL writes.

const store = new Map(); // key -> { payload, expiresAt }
const byGrant = new Map(); // grantId -> Set of keys
const byUid = new Map(); // uid -> key
const byUserCode = new Map(); // userCode -> key

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

export default class UnboundedAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
    if (payload.grantId) {
      if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
      byGrant.get(payload.grantId).add(key);
    }
    if (payload.uid) byUid.set(payload.uid, key);
    if (payload.userCode) byUserCode.set(payload.userCode, key);
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUid(uid) {
    const key = byUid.get(uid);
    return key ? live(key) : undefined;
  }

  async findByUserCode(userCode) {
    const key = byUserCode.get(userCode);
    return key ? live(key) : undefined;
  }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of byGrant.get(grantId) ?? []) store.delete(key);
    byGrant.delete(grantId);
  }
}
