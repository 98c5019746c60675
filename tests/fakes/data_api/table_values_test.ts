/**
 * The Java-side formatting the fake reproduces for tables (Double/Float/BigDecimal/Instant/
 * LocalTime toString, CqlDuration parsing and CqlDurationConverter), checked against values the
 * JDK and the data-api tests print.
 */

import assert from "node:assert/strict";
import {
  bigDecimalToString,
  CodecError,
  type CqlValue,
  durationToIso,
  instantToString,
  javaDoubleToString,
  javaFloatToString,
  javaHashMapOrder,
  localTimeToString,
  parseDecimal,
  parseDuration,
  parseInet,
  parseInstant,
  parseLocalTime,
} from "./table_values.ts";

Deno.test("table values: Double.toString and Float.toString layouts", () => {
  const doubles: Array<[number, string]> = [
    [100, "100.0"],
    [1e21, "1.0E21"],
    [1e7, "1.0E7"],
    [9999999, "9999999.0"],
    [0.001, "0.001"],
    [0.0001, "1.0E-4"],
    [1.5e-300, "1.5E-300"],
    [-0, "-0.0"],
    [0.1 + 0.2, "0.30000000000000004"],
    [123456789.123, "1.23456789123E8"],
    [-2.5, "-2.5"],
  ];
  for (const [d, s] of doubles) assert.equal(javaDoubleToString(d), s, String(d));
  const floats: Array<[number, string]> = [
    [0.1, "0.1"],
    [1 / 3, "0.33333334"],
    [7, "7.0"],
    [1e10, "1.0E10"],
    [3.4028235e38, "3.4028235E38"],
    [1.4e-45, "1.4E-45"],
    [-0.35213456, "-0.35213456"],
  ];
  for (const [f, s] of floats) assert.equal(javaFloatToString(Math.fround(f)), s, String(f));
});

Deno.test("table values: BigDecimal.toString keeps the scale and may use exponents", () => {
  const cases: Array<[string, string]> = [
    ["1E+3", "1E+3"],
    ["1e3", "1E+3"],
    ["100E2", "1.00E+4"],
    ["0.000000123", "1.23E-7"],
    ["0.00000123", "0.00000123"],
    ["-0.0", "0.0"],
    ["1.50", "1.50"],
    ["12.3e1", "123"],
    ["1.5e-300", "1.5E-300"],
    ["-123456789012345678901234567890.5", "-123456789012345678901234567890.5"],
  ];
  for (const [raw, s] of cases) {
    const d = parseDecimal(raw);
    assert.equal(bigDecimalToString(d.u, d.s), s, raw);
  }
});

Deno.test("table values: durations parse like CqlDuration and print like CqlDurationConverter", () => {
  const iso = (s: string) => durationToIso(parseDuration(s) as Extract<CqlValue, { k: "dur" }>);
  const cases: Array<[string, string]> = [
    ["1s500ms", "PT1.5S"],
    ["-8h10m", "-PT8H10M"],
    ["P1Y2M3DT4H5M6S", "P1Y2M3DT4H5M6S"],
    ["P0001-02-03T04:05:06", "P1Y2M3DT4H5M6S"],
    ["P2W", "P14D"],
    ["0s", "PT0S"],
    ["500us", "PT0.0005S"],
    ["1d", "P1D"],
    ["1mo", "P1M"],
    ["90m", "PT1H30M"],
    ["22h1ms", "PT22H0.001S"],
    ["1H2M", "PT1H2M"],
  ];
  for (const [given, printed] of cases) assert.equal(iso(given), printed, given);
  for (const bad of ["PT0.5S", "PT1.5S", "1h1h", "1m1h", "", "P1S", "5 minutes"]) {
    assert.throws(() => parseDuration(bad), CodecError, bad);
  }
});

Deno.test("table values: instants, times and addresses", () => {
  assert.equal(instantToString(1727186819000), "2024-09-24T14:06:59Z");
  assert.equal(instantToString(1727186819120), "2024-09-24T14:06:59.120Z");
  assert.equal(instantToString(0), "1970-01-01T00:00:00Z");
  assert.equal(parseInstant("2024-09-24T16:06:59+02:00"), 1727186819000);
  assert.equal(parseInstant("2024-09-24T14:06:59.123456Z"), 1727186819123);
  assert.equal(parseInstant("2024-02-30T00:00:00Z"), undefined);
  assert.equal(parseInstant("2024-09-24 14:06:59Z"), undefined);
  assert.equal(parseInstant("2024-09-24T14:06Z"), undefined, "seconds are required");
  for (
    const [given, printed] of [
      ["12:45", "12:45"],
      ["12:45:00", "12:45"],
      [
        "12:45:01.005",
        "12:45:01.005",
      ],
      ["00:00:00.000001", "00:00:00.000001"],
      ["23:59:59.123456789", "23:59:59.123456789"],
    ]
  ) {
    assert.equal(localTimeToString(parseLocalTime(given!)!), printed, given);
  }
  assert.equal(parseInet("::1"), "0:0:0:0:0:0:0:1");
  assert.equal(parseInet("2001:DB8::1"), "2001:db8:0:0:0:0:0:1");
  assert.equal(parseInet("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(parseInet("256.1.1.1"), undefined);
  assert.equal(parseInet("example.com"), undefined);
});

Deno.test("table values: row columns come out in Java HashMap order", () => {
  assert.deepEqual(javaHashMapOrder(["z", "a"]), ["a", "z"]);
  assert.deepEqual(javaHashMapOrder(["a", "b", "c"]), ["a", "b", "c"]);
  const names = Array.from({ length: 20 }, (_, i) => `col${i}`);
  const order = javaHashMapOrder(names);
  assert.deepEqual([...order].sort(), [...names].sort());
  assert.notDeepEqual(order, names);
  assert.deepEqual(javaHashMapOrder(names), order, "deterministic");
});
