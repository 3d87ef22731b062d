// Vatchain's own messages (vatchain.swingset.v1) as cosmjs registry types, written by
// hand as a client without generated code would: each field is (name, number, kind).
import { BinaryReader, BinaryWriter } from 'cosmjs-types/binary';

const WIRE = { string: 2, bytes: 2, bool: 0, uint64: 0 };
const DEFAULT = { string: '', bytes: new Uint8Array(), bool: false, uint64: 0n };

function messageType(fields) {
  const fromPartial = (o = {}) => {
    const m = {};
    for (const [name, , kind] of fields) m[name] = o[name] ?? DEFAULT[kind];
    return m;
  };
  return {
    fromPartial,
    encode(message, writer = BinaryWriter.create()) {
      const m = fromPartial(message);
      for (const [name, no, kind] of fields) {
        const v = m[name];
        const empty = kind === 'bytes' ? v.length === 0 : v === DEFAULT[kind];
        if (empty) continue;
        writer.uint32((no << 3) | WIRE[kind])[kind](kind === 'uint64' ? BigInt(v) : v);
      }
      return writer;
    },
    decode(input) {
      const reader = input instanceof BinaryReader ? input : new BinaryReader(input);
      const m = fromPartial();
      while (reader.pos < reader.len) {
        const tag = reader.uint32();
        const field = fields.find(([, no]) => no === tag >>> 3);
        if (field) m[field[0]] = reader[field[2]]();
        else reader.skipType(tag & 7);
      }
      return m;
    },
  };
}

export const MsgInstallBundle = messageType([
  ['sender', 1, 'string'],
  ['bundle', 2, 'bytes'],
  ['gzipped', 3, 'bool'],
  ['uncompressedSize', 4, 'uint64'],
]);
export const MsgDeliverInbound = messageType([
  ['sender', 1, 'string'],
  ['target', 2, 'string'],
  ['method', 3, 'string'],
  ['argsJson', 4, 'string'],
]);
export const MsgUpgradeVat = messageType([
  ['authority', 1, 'string'],
  ['vatName', 2, 'string'],
  ['bundleId', 3, 'string'],
  ['vatParametersJson', 4, 'string'],
  ['upgradeMessage', 5, 'string'],
]);

export const typeUrls = {
  installBundle: '/vatchain.swingset.v1.MsgInstallBundle',
  deliverInbound: '/vatchain.swingset.v1.MsgDeliverInbound',
  upgradeVat: '/vatchain.swingset.v1.MsgUpgradeVat',
};

export const vatchainTypes = [
  [typeUrls.installBundle, MsgInstallBundle],
  [typeUrls.deliverInbound, MsgDeliverInbound],
  [typeUrls.upgradeVat, MsgUpgradeVat],
];
