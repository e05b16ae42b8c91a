/**
 * Registration (C1): country and phone number (read on this device into E.164, `contacts/phone.ts`),
 * then the code the server sent, then keys are made on this device; or "Link to an existing device"
 * (`devices/JoinLink.tsx`) makes this browser a further device of an account.
 */
import { useState, type FormEvent } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { useTask } from './hooks.ts';
import { CountrySelect } from './contacts/CountrySelect.tsx';
import { browserRegion, formatInternational, normalisePhone } from './contacts/phone.ts';
import { JoinLink } from './devices/JoinLink.tsx';

/** Phone + verification-code form. */
export function Register({ client, onDone }: { client: ParleyClient; onDone: () => void }) {
  const [phone, setPhone] = useState('');
  const [region, setRegion] = useState(() => browserRegion() ?? '');
  const [sentTo, setSentTo] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'phone' | 'code' | 'link'>('phone');
  const { busy, error, run: runTask } = useTask();

  const run = (e: FormEvent, task: () => Promise<void>) => {
    e.preventDefault();
    void runTask(task);
  };

  return (
    <div className="register">
      <h1>Parley</h1>
      <p className="tagline">Private messaging you can run yourself.</p>
      {step === 'link' ? (
        <JoinLink client={client} onDone={onDone} onBack={() => setStep('phone')} />
      ) : step === 'phone' ? (
        <form
          onSubmit={(e) =>
            run(e, async () => {
              const read = await normalisePhone(phone, region);
              if (!read.ok) throw new Error(read.error);
              await client.requestCode(location.origin, read.e164);
              setSentTo(await formatInternational(read.e164));
              setStep('code');
            })
          }
        >
          <CountrySelect id="country" value={region} onChange={setRegion} />
          <label htmlFor="phone">Phone number</label>
          <input
            id="phone"
            name="phone"
            type="tel"
            inputMode="tel"
            autoComplete="tel"
            placeholder="202 555 0123"
            aria-describedby="phone-hint"
            value={phone}
            onChange={(e) => setPhone(e.target.value)}
            required
          />
          <p id="phone-hint" className="hint">
            As you would dial it in the chosen country, or with + and the country code.
          </p>
          <button type="submit" disabled={busy}>
            Send code
          </button>
          <button type="button" className="link" onClick={() => setStep('link')}>
            Link to an existing device
          </button>
        </form>
      ) : (
        <form
          onSubmit={(e) =>
            run(e, async () => {
              await client.verify(code.trim(), { deviceName: 'Web browser' });
              onDone();
            })
          }
        >
          <p>We sent a 6-digit code to {sentTo}.</p>
          <label htmlFor="code">Verification code</label>
          <input
            id="code"
            name="code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            required
          />
          <button type="submit" disabled={busy}>
            Verify
          </button>
          <button type="button" className="link" onClick={() => setStep('phone')}>
            Use another number
          </button>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
