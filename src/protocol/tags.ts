/**
 * Names of the tag numbers that status, relay, class and type attributes carry.
 * Unknown tags stay numbers; adding a name is adding a row.
 */
export const STATUS_TAGS: Readonly<Record<number, string>> = {
  35: "Fault",
  303: "Off",
  307: "Ok",
  455: "Warning",
  16777213: "Not available",
};

export const RELAY_TAGS: Readonly<Record<number, string>> = {
  51: "Closed",
  311: "Open",
  16777213: "Not available",
};

export const DEVICE_CLASS_TAGS: Readonly<Record<number, string>> = {
  8000: "All devices",
  8001: "Solar inverter",
  8002: "Wind turbine inverter",
  8007: "Battery inverter",
  8008: "EV charger",
  8009: "Hybrid inverter",
  8033: "Consumer",
  8064: "Sensor system",
  8065: "Energy meter",
  8128: "Communication product",
};

/**
 * Device type tags to model names: the Speedwire inverter and battery-inverter models (SB, STP, SI, SBS),
 * each checked against at least two public tag lists (9345 and 9100 also against real captures). Unknown
 * tags are kept as numbers; ennexOS models (Tripower X, Smart Energy) are left out as they do not speak
 * plain Speedwire.
 */
export const DEVICE_TYPE_TAGS: Readonly<Record<number, string>> = {
  9015: "SB 700",
  9022: "SB 2100TL",
  9067: "STP 10000TL-10",
  9068: "STP 12000TL-10",
  9069: "STP 15000TL-10",
  9070: "STP 17000TL-10",
  9071: "SB 2000HF-30",
  9072: "SB 2500HF-30",
  9073: "SB 3000HF-30",
  9074: "SB 3000TL-21",
  9075: "SB 4000TL-21",
  9076: "SB 5000TL-21",
  9098: "STP 5000TL-20",
  9099: "STP 6000TL-20",
  9100: "STP 7000TL-20",
  9101: "STP 8000TL-10",
  9102: "STP 9000TL-20",
  9103: "STP 8000TL-20",
  9131: "STP 20000TL-10",
  9139: "STP 20000TLHE-10",
  9140: "STP 15000TLHE-10",
  9157: "SI 2012",
  9158: "SI 2224",
  9159: "SI 5048",
  9160: "SB 3600TL-20",
  9165: "SB 3600TL-21",
  9181: "STP 20000TLEE-10",
  9182: "STP 15000TLEE-10",
  9183: "SB 2000TLST-21",
  9184: "SB 2500TLST-21",
  9185: "SB 3000TLST-21",
  9223: "SI 6.0H-11",
  9224: "SI 8.0H-11",
  9225: "SB 5000SE-10",
  9226: "SB 3600SE-10",
  9273: "SB 6000TL-21",
  9278: "SI 3.0M-11",
  9279: "SI 4.4M-11",
  9281: "STP 10000TL-20",
  9282: "STP 11000TL-20",
  9283: "STP 12000TL-20",
  9284: "STP 20000TL-30",
  9285: "STP 25000TL-30",
  9301: "SB 1.5-1VL-40",
  9302: "SB 2.5-1VL-40",
  9303: "SB 2.0-1VL-40",
  9304: "SB 5.0-1SP-US-40",
  9305: "SB 6.0-1SP-US-40",
  9306: "SB 7.7-1SP-US-40",
  9319: "SB 3.0-1AV-40",
  9320: "SB 3.6-1AV-40",
  9321: "SB 4.0-1AV-40",
  9322: "SB 5.0-1AV-40",
  9324: "SBS 1.5-1VL-10",
  9325: "SBS 2.0-1VL-10",
  9326: "SBS 2.5-1VL-10",
  9328: "SB 3.0-1SP-US-40",
  9329: "SB 3.8-1SP-US-40",
  9330: "SB 7.0-1SP-US-40",
  9331: "SI 3.0M-12",
  9332: "SI 4.4M-12",
  9333: "SI 6.0H-12",
  9334: "SI 8.0H-12",
  9336: "STP 15000TL-30",
  9337: "STP 17000TL-30",
  9338: "STP 50-40",
  9339: "STP 50-US-40",
  9340: "STP 50-JP-40",
  9344: "STP 4.0-3AV-40",
  9345: "STP 5.0-3AV-40",
  9346: "STP 6.0-3AV-40",
  9347: "STP 8.0-3AV-40",
  9348: "STP 10.0-3AV-40",
  9356: "SBS 3.7-10",
  9358: "SBS 5.0-10",
  9359: "SBS 6.0-10",
  9360: "SBS 3.8-US-10",
  9361: "SBS 5.0-US-10",
  9362: "SBS 6.0-US-10",
  9366: "STP 3.0-3AV-40",
  9401: "SB 3.0-1AV-41",
  9402: "SB 3.6-1AV-41",
  9403: "SB 4.0-1AV-41",
  9404: "SB 5.0-1AV-41",
  9405: "SB 6.0-1AV-41",
  9428: "STP 62-US-41",
  9429: "STP 50-US-41",
  9430: "STP 33-US-41",
  9431: "STP 50-41",
  9432: "STP 50-JP-41",
  9474: "SI 4.4M-13",
  9475: "SI 6.0H-13",
  9476: "SI 8.0H-13",
  19048: "STP 5.0-3SE-40",
  19049: "STP 6.0-3SE-40",
  19050: "STP 8.0-3SE-40",
  19051: "STP 10.0-3SE-40",
};

export function tagName(table: Readonly<Record<number, string>>, tag: number | null): string | number | null {
  if (tag === null) return null;
  return table[tag] ?? tag;
}

/**
 * Event-log tags (the id of an event's text in SMA's tag list) to names. None is checked against two public lists
 * yet, so the list is empty and events keep their tag number with text null; adding a name is adding a row.
 */
export const EVENT_TAGS: Readonly<Record<number, string>> = {};
