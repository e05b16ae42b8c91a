/**
 * Phone numbers as people type them (C1, C15): "202 555 0101", "+1 (202) 555-0101", "0044 20 7946
 * 0958" or a national number read in a chosen country, turned into E.164 on this device before
 * anything is sent. The rules are `libphonenumber-js` with its small ("min") metadata, the same
 * library and metadata the server checks numbers with, so a number this page accepts the server
 * accepts too. The library and its metadata are about 140 kB, so they load on demand (`import()`),
 * after the first screen is up, and never hold up the page.
 */
import type { CountryCode } from 'libphonenumber-js';

type PhoneLib = typeof import('libphonenumber-js');

let lib: Promise<PhoneLib> | undefined;

/** The phone-number library, loaded once on first use. */
export function loadPhoneLib(): Promise<PhoneLib> {
  lib ??= import('libphonenumber-js');
  // A failed load (a network hiccup) may be retried by the next caller.
  lib.catch(() => (lib = undefined));
  return lib;
}

/** A country in the picker: its code, name in the page's language and calling code. */
export interface Country {
  code: string;
  name: string;
  callingCode: string;
}

/** The page's preferred languages, best first (none outside a browser). */
function pageLanguages(): string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? [...navigator.languages] : [navigator.language];
}

/** The region of the browser's preferred languages ("en-GB" → "GB"), else undefined. */
export function browserRegion(languages: readonly string[] = pageLanguages()): string | undefined {
  for (const tag of languages) {
    try {
      const region = new Intl.Locale(tag).maximize().region;
      if (region && /^[A-Z]{2}$/.test(region)) return region;
    } catch {
      // A malformed language tag: try the next one.
    }
  }
  return undefined;
}

/** Every country the metadata knows, sorted by name in the page's language. */
export async function countries(): Promise<Country[]> {
  const { getCountries, getCountryCallingCode } = await loadPhoneLib();
  let names: Intl.DisplayNames | undefined;
  try {
    names = new Intl.DisplayNames(pageLanguages(), { type: 'region' });
  } catch {
    names = undefined;
  }
  return getCountries()
    .map((code) => ({ code, name: names?.of(code) ?? code, callingCode: getCountryCallingCode(code) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The result of reading a typed number: E.164, or a sentence saying what is wrong. */
export type PhoneResult = { ok: true; e164: string; country?: string } | { ok: false; error: string };

/**
 * Read what someone typed as a phone number. A leading `+` or `00` makes it international;
 * otherwise it is a national number of `region` (a two-letter country code). Spaces, dots,
 * dashes and brackets are fine anywhere.
 */
export async function normalisePhone(input: string, region: string | undefined): Promise<PhoneResult> {
  const typed = input.trim();
  const { parsePhoneNumberFromString, isSupportedCountry, getCountryCallingCode } = await loadPhoneLib();
  if (!/\d/.test(typed) || /[^\d\s().+\-/]/.test(typed))
    return {
      ok: false,
      error: `“${typed}” is not a phone number: use digits, with + and the country code if you know it.`,
    };
  const international = typed.replace(/^\s*00/, '+');
  const country = region && isSupportedCountry(region) ? (region as CountryCode) : undefined;
  const parsed = international.startsWith('+')
    ? parsePhoneNumberFromString(international)
    : country
      ? parsePhoneNumberFromString(international, country)
      : undefined;
  if (!parsed) {
    return {
      ok: false,
      error: international.startsWith('+')
        ? `“${typed}” is not a phone number. Check the country code after the +.`
        : 'Choose the country of this number, or type it with + and the country code.',
    };
  }
  if (!parsed.isValid()) {
    const where = parsed.country ?? (international.startsWith('+') ? undefined : country);
    const place = where
      ? `${regionName(where)} (+${getCountryCallingCode(where as CountryCode)})`
      : `+${parsed.countryCallingCode}`;
    return {
      ok: false,
      error: `${typed} is not a possible phone number in ${place}. Check the digits and the country.`,
    };
  }
  return { ok: true, e164: parsed.number, ...(parsed.country ? { country: parsed.country } : {}) };
}

/** The country a stored E.164 number belongs to ("+442079460958" → "GB"), if the metadata knows it. */
export async function countryOf(e164: string | undefined): Promise<string | undefined> {
  if (!e164) return undefined;
  const { parsePhoneNumberFromString } = await loadPhoneLib();
  return parsePhoneNumberFromString(e164)?.country;
}

/** "+1 202 555 0101" for an E.164 number, or the number as it is when it cannot be read. */
export async function formatInternational(e164: string): Promise<string> {
  const { parsePhoneNumberFromString } = await loadPhoneLib();
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}

function regionName(code: string): string {
  try {
    return new Intl.DisplayNames(pageLanguages(), { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}
