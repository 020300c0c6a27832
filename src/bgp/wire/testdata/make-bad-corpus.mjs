// Writes bad/*.hex and bad/index.json: hand-assembled faulty BGP messages, built from the
// RFC layouts here (not by the codec under test), each with the reaction the codec must
// choose. Run: node src/bgp/wire/testdata/make-bad-corpus.mjs
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'bad');
const MARKER = 'ff'.repeat(16);
const h2 = (n) => n.toString(16).padStart(4, '0');
const h1 = (n) => n.toString(16).padStart(2, '0');
const len = (hex) => hex.length / 2;

/** A message with a correct header around bodyHex. */
const msg = (type, body) => MARKER + h2(19 + len(body)) + h1(type) + body;
/** One path attribute with a correct (non-extended) length. */
const attr = (flags, type, value) => h1(flags) + h1(type) + h1(len(value)) + value;
/** An UPDATE body with correct withdrawn/attribute lengths. */
const update = (withdrawn, attrs, nlri) => msg(2, h2(len(withdrawn)) + withdrawn + h2(len(attrs)) + attrs + nlri);

const ORIGIN = attr(0x40, 1, '00');
const AS_PATH4 = attr(0x40, 2, '0201' + '0000fc00'); // sequence [64512], 4-octet ASNs
const NEXT_HOP = attr(0x40, 3, 'c0000201'); // 192.0.2.1
const BASE = ORIGIN + AS_PATH4 + NEXT_HOP;
const NLRI = '1a0af40100'; // 10.244.1.0/26
const MP_REACH6 = attr(0x80, 14, '0002' + '01' + '10' + '20010db8000000000000000000000001' + '00' + '40' + '20010db800010000');
const OPEN_CAPS = '0206' + '010400010001'; // one optional parameter: MP IPv4 unicast
const open = (version, as, hold, id, opt) => msg(1, h1(version) + h2(as) + h2(hold) + id + h1(len(opt)) + opt);

const FOUR = { fourOctetAs: true };
const cases = {
  // Message header errors (RFC 4271 §6.1)
  'header-marker-corrupt': [MARKER.slice(0, 30) + '00' + h2(19) + '04', { code: 1, subcode: 1 }],
  'header-length-below-19': [MARKER + h2(18) + '04', { code: 1, subcode: 2 }],
  'header-length-over-4096': [MARKER + h2(4097) + '02' + '00'.repeat(4078), { code: 1, subcode: 2 }],
  'header-unknown-type-6': [msg(6, ''), { code: 1, subcode: 3 }],
  'keepalive-with-body': [msg(4, '00'), { code: 1, subcode: 2 }],
  'open-shorter-than-29': [msg(1, '04fc0000f0c0000201'), { code: 1, subcode: 2 }],
  'notification-without-subcode': [msg(3, '06'), { code: 1, subcode: 2 }],
  'route-refresh-too-long': [msg(5, '0001000100'), { code: 1, subcode: 2 }],
  'route-refresh-borr-wrong-length': [msg(5, '0001010100'), { code: 7, subcode: 1 }],
  // OPEN errors (RFC 4271 §6.2)
  'open-version-3': [open(3, 64512, 240, 'c0000201', OPEN_CAPS), { code: 2, subcode: 1 }],
  'open-hold-time-1': [open(4, 64512, 1, 'c0000201', OPEN_CAPS), { code: 2, subcode: 6 }],
  'open-hold-time-2': [open(4, 64512, 2, 'c0000201', OPEN_CAPS), { code: 2, subcode: 6 }],
  'open-bgp-id-zero': [open(4, 64512, 240, '00000000', OPEN_CAPS), { code: 2, subcode: 3 }],
  'open-peer-as-zero': [open(4, 0, 240, 'c0000201', OPEN_CAPS), { code: 2, subcode: 2 }],
  'open-four-octet-as-zero': [open(4, 23456, 240, 'c0000201', '0206' + '410400000000'), { code: 2, subcode: 2 }],
  'open-auth-optional-parameter': [open(4, 64512, 240, 'c0000201', '0102' + 'abcd'), { code: 2, subcode: 4 }],
  'open-opt-param-length-mismatch': [msg(1, '04fc0000f0c0000201' + '09' + OPEN_CAPS), { code: 2, subcode: 0 }],
  'open-capability-overruns-parameter': [open(4, 64512, 240, 'c0000201', '0204' + '01040001'), { code: 2, subcode: 0 }],
  'open-mp-capability-length-3': [open(4, 64512, 240, 'c0000201', '0205' + '0103000101'), { code: 2, subcode: 0 }],
  'open-graceful-restart-length-3': [open(4, 64512, 240, 'c0000201', '0205' + '4003007800'), { code: 2, subcode: 0 }],
  // UPDATE errors that reset the session (RFC 4271 §6.3, RFC 7606 §4, §5.3, §7.11)
  'update-withdrawn-length-overruns': [msg(2, '0010' + '0000'), { code: 3, subcode: 1 }],
  'update-attribute-length-overruns': [msg(2, '0000' + '0040' + ORIGIN), { code: 3, subcode: 1 }],
  'update-nlri-prefix-length-33': [update('', BASE, '210a000001ff'), { code: 3, subcode: 10 }],
  'update-nlri-truncated': [update('', BASE, '180a00'), { code: 3, subcode: 10 }],
  'update-withdrawn-prefix-length-40': [update('280a00000000', '', ''), { code: 3, subcode: 10 }],
  'update-unrecognized-well-known': [update('', BASE + attr(0x40, 99, '01'), NLRI), { code: 3, subcode: 2 }],
  'update-duplicate-mp-reach': [update('', ORIGIN + AS_PATH4 + MP_REACH6 + MP_REACH6, ''), { code: 3, subcode: 1 }],
  'update-duplicate-mp-unreach': [update('', attr(0x80, 15, '000201') + attr(0x80, 15, '000201'), ''), { code: 3, subcode: 1 }],
  'update-mp-reach-ipv6-next-hop-8': [update('', ORIGIN + AS_PATH4 + attr(0x80, 14, '0002010820010db80000000000' + '00'), ''), { code: 3, subcode: 9 }],
  'update-mp-reach-flags-transitive': [update('', ORIGIN + AS_PATH4 + 'c0' + MP_REACH6.slice(2), ''), { code: 3, subcode: 4 }],
  'update-mp-reach-prefix-length-129': [update('', ORIGIN + AS_PATH4 + attr(0x80, 14, '00020110' + '20010db8000000000000000000000001' + '00' + '81' + 'ff'.repeat(17)), ''), { code: 3, subcode: 9 }],
  'update-mp-unreach-truncated': [update('', attr(0x80, 15, '0002'), ''), { code: 3, subcode: 9 }],
  'update-mp-reach-overruns-attributes': [update('', ORIGIN + '800e40' + '0002', ''), { code: 3, subcode: 5 }],
  // RFC 7606: treat-as-withdraw
  'update-origin-value-3': [update('', attr(0x40, 1, '03') + AS_PATH4 + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-origin-length-2': [update('', attr(0x40, 1, '0000') + AS_PATH4 + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-origin-flagged-optional': [update('', attr(0xc0, 1, '00') + AS_PATH4 + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-as-path-segment-overruns': [update('', ORIGIN + attr(0x40, 2, '0202' + '0000fc00') + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-as-path-empty-segment': [update('', ORIGIN + attr(0x40, 2, '0200') + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-as-path-segment-type-5': [update('', ORIGIN + attr(0x40, 2, '0501' + '0000fc00') + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-next-hop-length-5': [update('', ORIGIN + AS_PATH4 + attr(0x40, 3, 'c000020100'), NLRI), { outcome: 'treat-as-withdraw' }],
  'update-next-hop-multicast': [update('', ORIGIN + AS_PATH4 + attr(0x40, 3, 'e0000001'), NLRI), { outcome: 'treat-as-withdraw' }],
  'update-med-length-3': [update('', BASE + attr(0x80, 4, '000064'), NLRI), { outcome: 'treat-as-withdraw' }],
  'update-local-pref-length-5': [update('', BASE + attr(0x40, 5, '0000006400'), NLRI), { outcome: 'treat-as-withdraw' }],
  'update-communities-length-6': [update('', BASE + attr(0xc0, 8, 'fc000064fc00'), NLRI), { outcome: 'treat-as-withdraw' }],
  'update-originator-id-length-3': [update('', BASE + attr(0x80, 9, 'c00002'), NLRI), { outcome: 'treat-as-withdraw' }],
  'update-cluster-list-length-6': [update('', BASE + attr(0x80, 10, 'c0000201c000'), NLRI), { outcome: 'treat-as-withdraw' }],
  'update-originator-id-from-ebgp': [update('', BASE + attr(0x80, 9, 'c0000202'), NLRI), { outcome: 'treat-as-withdraw' }, { fourOctetAs: true, ebgp: true }],
  'update-cluster-list-from-ebgp': [update('', BASE + attr(0x80, 10, 'c0000202'), NLRI), { outcome: 'treat-as-withdraw' }, { fourOctetAs: true, ebgp: true }],
  'update-as-path-confed-from-ebgp': [update('', ORIGIN + attr(0x40, 2, '0301' + '0000fde8') + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }, { fourOctetAs: true, ebgp: true }],
  'update-missing-origin': [update('', AS_PATH4 + NEXT_HOP, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-missing-next-hop': [update('', ORIGIN + AS_PATH4, NLRI), { outcome: 'treat-as-withdraw' }],
  'update-mp-reach-missing-as-path': [update('', ORIGIN + MP_REACH6, ''), { outcome: 'treat-as-withdraw' }],
  'update-attribute-overruns-block': [update('', BASE + '400504000000', NLRI), { outcome: 'treat-as-withdraw' }],
  'update-attribute-block-leftover-byte': [update('', BASE + '40', NLRI), { outcome: 'treat-as-withdraw' }],
  // RFC 7606: attribute-discard
  'update-atomic-aggregate-length-1': [update('', BASE + attr(0x40, 6, '00'), NLRI), { outcome: 'attribute-discard' }],
  'update-aggregator-length-7': [update('', BASE + attr(0xc0, 7, '0000fc00c00002'), NLRI), { outcome: 'attribute-discard' }],
  'update-duplicate-origin': [update('', BASE + ORIGIN, NLRI), { outcome: 'attribute-discard' }],
  'update-local-pref-from-ebgp': [update('', BASE + attr(0x40, 5, '00000064'), NLRI), { outcome: 'attribute-discard' }, { fourOctetAs: true, ebgp: true }],
  'update-as4-path-confed-segment': [
    update('', ORIGIN + attr(0x40, 2, '0201fc00') + NEXT_HOP + attr(0xc0, 17, '0301fa56ea01'), NLRI),
    { outcome: 'attribute-discard' }, { fourOctetAs: false }],
  'update-as4-path-on-four-octet-session': [update('', BASE + attr(0xc0, 17, '0201fa56ea01'), NLRI), { outcome: 'attribute-discard' }],
};

mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) rmSync(join(dir, f));
const index = {};
for (const [name, [hex, expect, ctx]] of Object.entries(cases)) {
  writeFileSync(join(dir, `${name}.hex`), `${hex}\n`);
  index[`${name}.hex`] = { expect, ctx: ctx ?? FOUR };
}
writeFileSync(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
console.log(`wrote ${Object.keys(cases).length} cases to ${dir}`);
