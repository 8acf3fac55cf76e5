/**
 * The one Painless script every write goes through, so a write is a merge that the engine applies
 * atomically on the shard and that gives the same document however often it is repeated.
 *
 * Ordering: every element of a document (a subscription, a device, a cohort, the preferences, each
 * profile field…) is a last-writer-wins register. `clocks[key]` holds the `at` of the newest change
 * applied to that element, including removals (tombstones), so a change redelivered late — from a
 * retry topic, a rebalance or a rebuild racing live traffic — cannot undo a newer one. `floor` says
 * "every change older than this is already reflected": a full snapshot (upsert, reindex) raises it to
 * the snapshot's time, and clocks at or below the floor are dropped, so the clock map only holds
 * recent history (at most CLOCK_RETENTION_MS behind the newest change).
 *
 * Modes: `change` applies element ops; `snapshot` merges a whole document read at `at` from the
 * source of truth; `delete` turns the document into a tombstone (`deletedAt`), which every query
 * filters out and which stops older changes from resurrecting the user.
 *
 * Painless resolves methods by name and arity, not by argument type, so the script avoids the
 * ambiguous `List.remove` and uses `removeIf`/`subList` instead.
 */
export const CLOCK_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export const MAX_DEVICES_PER_CHANNEL = 10;

export const APPLY_SCRIPT = `
long num(def v) { return v == null ? -1L : ((Number) v).longValue(); }

List listIn(Map m, String field) {
  if (m[field] == null) { m[field] = new ArrayList(); }
  return m[field];
}

void shape(Map s, def uid, def bucket) {
  if (s.uid == null) { s.uid = uid; }
  if (s.bucket == null) { s.bucket = bucket; }
  for (String f : ['channels', 'threadPreferences', 'tids', 'cohorts', 'splits', 'reachable']) { listIn(s, f); }
  if (s.devices == null) { s.devices = new HashMap(); }
  Map d = s.devices;
  if (d.ws == null) { d.ws = false; }
  for (String ch : ['webpush', 'apns', 'fcm', 'sms', 'email']) { listIn(d, ch); }
  for (String f : ['locale', 'timeZone', 'lastSeen']) { if (!s.containsKey(f)) { s[f] = null; } }
  if (s.clocks == null) { s.clocks = new HashMap(); }
  if (s.floor == null) { s.floor = 0L; }
  if (s.updatedAt == null) { s.updatedAt = 0L; }
}

void derive(Map s) {
  Map d = s.devices;
  List r = new ArrayList();
  if (d.ws == true) { r.add('ws'); }
  for (String ch : ['webpush', 'apns', 'fcm', 'sms', 'email']) { if (!d[ch].isEmpty()) { r.add(ch); } }
  s.reachable = r;
  List c = s.channels;
  s.optedOut = c.size() == 1 && c[0] == '~';
}

int indexBy(List list, String field, def value) {
  for (int i = 0; i < list.size(); ++i) { if (list[i][field] == value) { return i; } }
  return -1;
}

void cap(List list, int max) {
  if (list.size() > max) { list.subList(max, list.size()).clear(); }
}

def copy(def v) {
  if (v instanceof List) { return new ArrayList(v); }
  if (v instanceof Map) { return new HashMap(v); }
  return v;
}

boolean applyOp(Map s, Map op, int max) {
  String t = op.t;
  if (t == 'add') {
    List l = s[op.f];
    if (l.contains(op.v)) { return false; }
    l.add(op.v);
    return true;
  }
  if (t == 'remove') {
    def v = op.v;
    return s[op.f].removeIf(x -> x == v);
  }
  if (t == 'set') {
    if (s[op.f] == op.v) { return false; }
    s[op.f] = copy(op.v);
    return true;
  }
  if (t == 'device') {
    Map d = s.devices;
    if (op.ch == 'ws') {
      boolean on = op.on;
      if (d.ws == on) { return false; }
      d.ws = on;
      return true;
    }
    List l = d[op.ch];
    String id = op.id;
    int i = indexBy(l, 'id', id);
    if (op.on) {
      if (i == 0 && l[0] == op.v) { return false; }
      l.removeIf(x -> x.id == id);
      l.add(0, copy(op.v));
      cap(l, max);
      return true;
    }
    return l.removeIf(x -> x.id == id);
  }
  if (t == 'keyed') {
    List l = s[op.f];
    String field = op.by;
    def id = op.id;
    int i = indexBy(l, field, id);
    if (op.v == null) { return l.removeIf(x -> x[field] == id); }
    if (i >= 0 && l[i] == op.v) { return false; }
    if (i >= 0) { l.set(i, copy(op.v)); } else { l.add(copy(op.v)); }
    return true;
  }
  throw new IllegalArgumentException('unknown op ' + t);
}

String keyOf(def element, String field) { return field == null ? (String) element : (String) element[field]; }

List merge(List current, List snap, Map clocks, String prefix, String field, long at) {
  List out = new ArrayList();
  for (def e : current) { if (num(clocks[prefix + keyOf(e, field)]) > at) { out.add(e); } }
  for (def e : snap) { if (num(clocks[prefix + keyOf(e, field)]) <= at) { out.add(copy(e)); } }
  return out;
}

void clear(Map s) {
  for (String f : ['channels', 'threadPreferences', 'tids', 'cohorts', 'splits']) { s[f] = new ArrayList(); }
  s.devices = ['ws': false, 'webpush': new ArrayList(), 'apns': new ArrayList(), 'fcm': new ArrayList(),
    'sms': new ArrayList(), 'email': new ArrayList()];
  s.locale = null;
  s.timeZone = null;
  s.lastSeen = null;
}

void raiseFloor(Map s, long floor) {
  if (floor <= num(s.floor)) { return; }
  s.floor = floor;
  Map kept = new HashMap();
  for (def e : s.clocks.entrySet()) { if (num(e.getValue()) > floor) { kept[e.getKey()] = e.getValue(); } }
  s.clocks = kept;
}

Map s = ctx._source;
shape(s, params.uid, params.bucket);
long at = num(params.at);
boolean deleted = s.deletedAt != null;
if (at < num(s.floor) || (deleted && at <= num(s.deletedAt))) { ctx.op = 'noop'; return; }
String mode = params.mode;
boolean changed = false;

if (mode == 'change') {
  // Lists are edited in place here, so "did anything change" is tracked op by op.
  Map c = s.clocks;
  for (def op : params.ops) {
    String key = op.k;
    if (at < num(c[key])) { continue; }
    if (applyOp(s, op, params.maxDevices)) { changed = true; }
    if (num(c[key]) != at) { c[key] = at; changed = true; }
  }
  long previousFloor = num(s.floor);
  raiseFloor(s, at - params.retention);
  if (num(s.floor) != previousFloor || deleted) { changed = true; }
  s.remove('deletedAt');
  if (at > num(s.updatedAt)) { s.updatedAt = at; changed = true; }
  derive(s);
} else {
  // Snapshot and delete assign fresh lists, so a shallow copy is enough to compare against.
  Map before = new HashMap(s);
  before.devices = new HashMap(s.devices);
  if (mode == 'delete') {
    clear(s);
    s.clocks = new HashMap();
    s.floor = at;
    s.deletedAt = at;
  } else {
    Map n = params.doc;
    Map c = s.clocks;
    Map d = s.devices;
    for (String f : ['channels', 'locale', 'timeZone', 'lastSeen']) {
      if (num(c[f]) <= at) { s[f] = copy(n[f]); }
    }
    if (num(c['device:ws']) <= at) { d.ws = n.devices.ws; }
    for (String ch : ['webpush', 'apns', 'fcm', 'sms', 'email']) {
      List merged = merge(d[ch], n.devices[ch], c, 'device:' + ch + ':', 'id', at);
      cap(merged, params.maxDevices);
      d[ch] = merged;
    }
    s.tids = merge(s.tids, n.tids, c, 'tid:', null, at);
    s.cohorts = merge(s.cohorts, n.cohorts, c, 'cohort:', null, at);
    s.threadPreferences = merge(s.threadPreferences, n.threadPreferences, c, 'prefs:', 'tid', at);
    s.splits = merge(s.splits, n.splits, c, 'split:', 'experiment', at);
    s.remove('deletedAt');
    raiseFloor(s, at);
  }
  if (at > num(s.updatedAt)) { s.updatedAt = at; }
  derive(s);
  changed = !(s == before) || !(s.devices == before.devices);
}
if (!changed) { ctx.op = 'noop'; }
`;
