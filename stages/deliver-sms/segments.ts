/**
 * How many SMS segments a text is billed as. GSM 03.38 text packs 160 septets into one segment (153 per
 * segment once concatenated, the rest holds the UDH); any other character switches the whole message to
 * UCS-2: 70 UTF-16 units in one segment, 67 per part. Extension-table characters cost two septets, and a
 * part never ends between the halves of an escape or a surrogate pair.
 */

const gsmBasic = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const gsmExtension = new Set('^{}\\[~]|€\f');

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SegmentCount {
  encoding: SmsEncoding;
  segments: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
}

export function countSegments(text: string): SegmentCount {
  const gsm = gsmUnits(text);
  if (gsm !== null) {
    return { encoding: 'GSM-7', units: gsm.reduce((sum, size) => sum + size, 0), segments: pack(gsm, 160, 153) };
  }
  const ucs = [...text].map((character) => character.length);
  return { encoding: 'UCS-2', units: text.length, segments: pack(ucs, 70, 67) };
}

/** Septets per character, or null when a character is outside GSM 03.38. */
function gsmUnits(text: string): number[] | null {
  const units: number[] = [];
  for (const character of text) {
    if (gsmBasic.has(character)) units.push(1);
    else if (gsmExtension.has(character)) units.push(2);
    else return null;
  }
  return units;
}

/** Parts needed for these indivisible characters (sizes in units), `single` fitting one whole message. */
function pack(sizes: number[], single: number, perPart: number): number {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total === 0) return 1;
  if (total <= single) return 1;
  let parts = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > perPart) {
      parts++;
      used = 0;
    }
    used += size;
  }
  return parts;
}
