// Wire and disk encodings: round trips, and clear errors on bad input.
import t from 'tap';
import {
  CodecError,
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeMessages,
  encodeConfChange,
  encodeEntry,
  encodeHardState,
  encodeMessages,
  pack,
} from '../src/core/codec.js';
import { ConfChangeType, EntryType, MsgType, message } from '../src/core/types.js';

t.test('messages round-trip, with entries and snapshots', async (t) => {
  const ms = [
    message({
      type: MsgType.App,
      to: 'b',
      from: 'a',
      term: 3,
      logTerm: 2,
      index: 9,
      commit: 8,
      entries: [{ term: 3, index: 10, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) }],
    }),
    message({
      type: MsgType.AppResp,
      to: 'a',
      from: 'b',
      term: 3,
      index: 9,
      reject: true,
      rejectHint: 4,
      logTerm: 2,
    }),
    message({ type: MsgType.Heartbeat, to: 'b', from: 'a', term: 3, commit: 7, context: 'read-1' }),
    message({
      type: MsgType.Snap,
      to: 'c',
      from: 'a',
      term: 3,
      snapshot: {
        meta: { index: 5, term: 2, conf: { voters: ['a', 'b'], learners: ['c'] } },
        data: new Uint8Array([9]),
      },
    }),
  ];
  const back = decodeMessages(encodeMessages(ms));
  t.same(
    back.map((m) => ({
      ...m,
      entries: m.entries.map((e) => ({ ...e, data: [...e.data] })),
      snapshot: m.snapshot && { ...m.snapshot, data: [...m.snapshot.data] },
    })),
    ms.map((m) => ({
      ...m,
      entries: m.entries.map((e) => ({ ...e, data: [...e.data] })),
      snapshot: m.snapshot && { ...m.snapshot, data: [...m.snapshot.data] },
    })),
  );
});

t.test('entries, hard states and conf changes round-trip', async (t) => {
  const e = { term: 4, index: 11, type: EntryType.ConfChange, data: new Uint8Array([5]) };
  const d = decodeEntry(encodeEntry(e));
  t.same({ ...d, data: [...d.data] }, { ...e, data: [5] });
  t.same(decodeHardState(encodeHardState({ term: 4, vote: 'x', commit: 9 })), {
    term: 4,
    vote: 'x',
    commit: 9,
  });
  t.same(
    decodeConfChange(
      encodeConfChange({ type: ConfChangeType.AddVoter, id: 'n4', context: '10.0.0.4:7000' }),
    ),
    {
      type: ConfChangeType.AddVoter,
      id: 'n4',
      context: '10.0.0.4:7000',
    },
  );
});

t.test('bad input is refused with an error naming the field', async (t) => {
  const bad: [Uint8Array, RegExp][] = [
    [new Uint8Array([0x92, 0x01]), /not valid msgpack/],
    [pack({ a: 1 }), /message batch: expected an array/],
    [
      pack([[MsgType.App, 'b', 'a', 1, 0, 0, 0, 0, 0, '']]),
      /message batch\[0\]: expected 11 or 12 fields/,
    ],
    [
      pack([[99, 'b', 'a', 1, 0, 0, 0, 0, 0, '', []]]),
      /message batch\[0\]\.type: 99 is not a wire message type/,
    ],
    [pack([[MsgType.Hup, 'b', 'a', 1, 0, 0, 0, 0, 0, '', []]]), /Hup is not a wire message type/],
    [
      pack([[MsgType.App, 'b', 'a', -1, 0, 0, 0, 0, 0, '', []]]),
      /message batch\[0\]\.term: expected a non-negative integer/,
    ],
    [
      pack([[MsgType.App, 5, 'a', 1, 0, 0, 0, 0, 0, '', []]]),
      /message batch\[0\]\.to: expected a string/,
    ],
    [
      pack([[MsgType.App, 'b', 'a', 1, 0, 0, 0, 0, 0, '', [[1, 1, 7, new Uint8Array()]]]]),
      /entries\[0\]\.type: unknown entry type 7/,
    ],
    [
      pack([[MsgType.App, 'b', 'a', 1, 0, 0, 0, 0, 0, '', [[1, 1, 0, 'text']]]]),
      /entries\[0\]\.data: expected bytes/,
    ],
  ];
  for (const [buf, re] of bad) {
    try {
      decodeMessages(buf);
      t.fail(`accepted ${re}`);
    } catch (e) {
      t.ok(e instanceof CodecError, 'CodecError');
      t.match((e as Error).message, re);
    }
  }
  t.throws(
    () => decodeConfChange(pack([ConfChangeType.AddVoter, '', ''])),
    /conf change\.id: empty node id/,
  );
  t.throws(() => decodeHardState(pack([1, 'a'])), /hard state: expected 3 fields/);
});
