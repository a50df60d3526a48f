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
  8009: "Hybrid inverter",
  8033: "Consumer",
  8064: "Sensor system",
  8065: "Energy meter",
  8128: "Communication product",
};

/** Device type tags to model names (a selection of common models; unknown tags are kept as numbers). */
export const DEVICE_TYPE_TAGS: Readonly<Record<number, string>> = {
  9015: "SB 700",
  9069: "SB 2100TL",
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
  9162: "SB 3500TL-JP-22",
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
  9281: "STP 10000TL-20",
  9282: "STP 11000TL-20",
  9283: "STP 12000TL-20",
  9284: "STP 20000TL-30",
  9285: "STP 25000TL-30",
  9301: "SB 1.5-1VL-40",
  9302: "SB 2.5-1VL-40",
  9303: "SB 2.0-1VL-40",
  9304: "SB 5.0-1SP-US-40",
  9319: "SB 3.0-1AV-40",
  9320: "SB 3.6-1AV-40",
  9321: "SB 4.0-1AV-40",
  9322: "SB 5.0-1AV-40",
  9324: "SBS 1.0-1VL-10",
  9325: "SBS 6.0-10",
  9326: "SBS 5.0-10",
  9327: "SBS 3.7-10",
  9331: "SI 3.0M-12",
  9332: "SI 4.4M-12",
  9333: "SI 6.0H-12",
  9334: "SI 8.0H-12",
  9336: "STP 15000TL-30",
  9337: "STP 17000TL-30",
  9338: "STP 50-40",
  9344: "STP 4.0-3AV-40",
  9345: "STP 5.0-3AV-40",
  9346: "STP 6.0-3AV-40",
  9347: "STP 8.0-3AV-40",
  9348: "STP 10.0-3AV-40",
  9356: "SBS 3.7-US-10",
  9357: "SBS 5.0-US-10",
  9358: "SBS 6.0-US-10",
  9359: "SB 3.8-1SP-US-40",
  9366: "STP 3.0-3AV-40",
  9401: "SB 3.0-1AV-41",
  9402: "SB 3.6-1AV-41",
  9403: "SB 4.0-1AV-41",
  9404: "SB 5.0-1AV-41",
  9405: "SB 6.0-1AV-41",
  9428: "SBS 2.5-1VL-10",
};

export function tagName(table: Readonly<Record<number, string>>, tag: number | null): string | number | null {
  if (tag === null) return null;
  return table[tag] ?? tag;
}
