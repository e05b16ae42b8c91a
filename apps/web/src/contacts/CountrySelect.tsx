/**
 * The country picker beside a phone number (C1, C15): "Country", each option "Name (+code)". Until
 * the phone-number library has loaded (it loads on demand) the list holds only the chosen country.
 */
import { useEffect, useState } from 'react';
import { countries, type Country } from './phone.ts';

/** A `<select>` of countries with their calling codes. */
export function CountrySelect({
  id,
  value,
  onChange,
}: {
  id: string;
  value: string;
  onChange: (code: string) => void;
}) {
  const [list, setList] = useState<Country[] | null>(null);
  useEffect(() => {
    let alive = true;
    countries().then(
      (all) => alive && setList(all),
      (e: unknown) => console.warn('parley phone metadata', e),
    );
    return () => {
      alive = false;
    };
  }, []);
  const shown = list ?? (value ? [{ code: value, name: value, callingCode: '' }] : []);
  return (
    <>
      <label htmlFor={id}>Country</label>
      <select id={id} className="country-select" value={value} onChange={(e) => onChange(e.target.value)}>
        {!value && <option value="">Choose a country</option>}
        {shown.map((c) => (
          <option key={c.code} value={c.code}>
            {c.callingCode ? `${c.name} (+${c.callingCode})` : c.name}
          </option>
        ))}
      </select>
    </>
  );
}
