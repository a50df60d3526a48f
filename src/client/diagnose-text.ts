/**
 * Diagnose's steps in plain English, each with its fix: the CLI prints these; the editor shows the same keys from
 * the locales (nodes/sma-inverter/locales/<lang>/sma-inverter.json, "diagnose"), where en-US equals this table (a test
 * checks it). `__name__` is replaced by the step's data (Node-RED's i18n syntax).
 */
import type { DiagnoseCode, DiagnoseStep, DiagnoseVerdict } from "./diagnose";

export const DIAGNOSE_TEXT_EN: Record<DiagnoseCode | `verdict.${DiagnoseVerdict}`, string> = {
  "identify.ok": "__address__:__port__ answers an identify: serial __serial__, SUSyID __susyId__.",
  "identify.none":
    "Nothing answers an identify at __address__:__port__: the device is asleep (no sun), off, at another address or port, or not on this network (a container network that drops UDP). Check the address in the device's web interface or your router.",
  "identify.encrypted":
    "__address__:__port__ answered the identify with a key exchange (0x6075): Speedwire encryption is on. Nothing public decrypts it: read this device with Modbus or through its web interface, or switch encryption off.",
  "identify.garbage":
    "__address__:__port__ sent __count__ datagram(s) back, but none is plain Speedwire (SMA protocols seen: __protocols__). This is not a Speedwire inverter, or it speaks another protocol on this port: check the address and port.",
  "identify.unresolved": "The host name __host__ does not resolve (__reason__): enter the device's IP address.",
  "serial.match": "The serial number matches the setting (__serial__).",
  "serial.any": "No serial number is set: any device at this address is read (it is __serial__).",
  "serial.other":
    "Another device answers at this address: serial __found__ (SUSyID __susyId__), not __expected__. Correct the serial number or the address (the password was not sent).",
  "login.ok": "Login as __group__ accepted.",
  "login.wrong-password":
    'Login as __group__ refused: wrong password (__code__). Use the password of that user group; devices with firmware 4.x ("PUK 2.0") take the RID / WPA2 key printed on the type plate as the initial password.',
  "login.no-session":
    "The login was accepted, but the next request got 'not logged in' (__code__): the device keeps no session. Another program may be logging in as well; stop it and try again.",
  "login.refused":
    "Login refused although the password may be right (__code__): the device is busy or still starting. Wait a minute and try again.",
  "login.encrypted":
    "No plain answer to the login, and the device sent a key exchange (0x6075): Speedwire encryption is on. Read it with Modbus or through its web interface, or switch encryption off.",
  "login.silent":
    "The device answers an identify but not the login: an ennexOS device (Sunny Tripower X, newer Sunny Boy Smart Energy) or one with Speedwire encryption. Read it with Modbus or through its web interface.",
  "login.no-answer":
    "No answer to the login at __address__:__port__: the device is asleep (no sun), off, at another address or port, or the network drops UDP to it (container networks: use the host network).",
  "login.not-speedwire":
    "__address__:__port__ answers, but not with plain Speedwire (__count__ datagram(s), SMA protocols seen: __protocols__): this is not a Speedwire inverter, or another program uses this port.",
  "login.error": "The login got an answer that cannot be used: __reason__.",
  "login.unreachable":
    "The network refuses to send to __address__:__port__ (__reason__): check the address and this host's network.",
  "device.ok": "Device: __name__, type __type__, firmware __firmware__, serial __serial__, SUSyID __susyId__.",
  "values.has": "The device has __count__ value group(s): __groups__.",
  "values.none": "No value for __count__ group(s) (0x0015, normal for parts this device does not have): __groups__.",
  "values.unknown": "The device does not know __count__ group(s) (0x0014): __groups__.",
  "values.ennexos":
    "The device knows none of the value groups (0x0014 for __count__): an ennexOS-style device that answers plain Speedwire but keeps its values elsewhere. Read it with Modbus or through its web interface.",
  "values.error": "Reading __group__ failed: __reason__.",
  "link.ok": "Round trip __rttMs__ ms (slowest __rttMaxMs__ ms), __lost__ of __sent__ requests lost.",
  "link.poor":
    "Poor link: __lost__ of __sent__ requests lost (__lossPct__ %), round trip __rttMs__ ms. Check Wi-Fi signal or cabling; readings will be slow and sometimes missing.",
  "link.none": "No answer to __sent__ identify requests after the login: the link drops most datagrams.",
  "clock.ok": "Device clock __deviceTime__, __driftS__ s from this host's clock (received __receivedAt__).",
  "clock.none": "No time record yet: the device pushes its clock about once a minute to logged-in clients.",
  "meters.heard":
    "Energy meter __serial__ (SUSyID __susyId__, __protocol__) heard from __address__:__port__, sent unicast to this host: __count__ datagram(s), last __ageS__ s ago.",
  "meters.heard-group":
    "Energy meter __serial__ (SUSyID __susyId__, __protocol__) heard from __address__:__port__ on the multicast group's port (multicast, or unicast to this host): __count__ datagram(s), last __ageS__ s ago.",
  "meters.none":
    'No energy meter datagram arrived here in the last __seconds__ s. A container network drops multicast (use the host network), or the Home Manager sends to another host ("direct meter communication").',
  "meters.no-listener":
    "No energy meter listener runs here: deploy an sma-energy-meter node (or use --meter) to see which meters this host receives.",
  "meters.direct":
    'Home Manager / energy meter __serial__ at __address__ answers the search, but none of its data (0x6069) arrived here: its "direct meter communication" sends it unicast to another address. Add this host there or switch it off.',
  "verdict.ok": "Everything needed works: this device can be read.",
  "verdict.no-answer": "No answer: see the steps for the likely cause.",
  "verdict.other-serial": "Another device answers at this address.",
  "verdict.wrong-password": "Wrong password.",
  "verdict.login-refused": "The device refuses the login for now.",
  "verdict.encrypted": "Speedwire encryption is on: not readable this way.",
  "verdict.not-speedwire": "Something answers, but not with Speedwire.",
};

/** A text with its `__name__` placeholders filled from data (null shows as "-"). */
export function fillText(template: string, data: Record<string, string | number | null>): string {
  return template.replace(/__([a-zA-Z]+)__/g, (all, name: string) => (name in data ? String(data[name] ?? "-") : all));
}

/** The step in English. */
export function stepText(step: Pick<DiagnoseStep, "code" | "data">): string {
  return fillText(DIAGNOSE_TEXT_EN[step.code], step.data);
}
