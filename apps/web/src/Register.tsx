/** Registration (C1): phone number, then the code the server sent, then keys are made on this device. */
import { useState, type FormEvent } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { useTask } from './hooks.ts';

/** Phone + verification-code form. */
export function Register({ client, onDone }: { client: ParleyClient; onDone: () => void }) {
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'phone' | 'code'>('phone');
  const { busy, error, run: runTask } = useTask();

  const run = (e: FormEvent, task: () => Promise<void>) => {
    e.preventDefault();
    void runTask(task);
  };

  return (
    <div className="register">
      <h1>Parley</h1>
      <p className="tagline">Private messaging you can run yourself.</p>
      {step === 'phone' ? (
        <form
          onSubmit={(e) =>
            run(e, async () => {
              await client.requestCode(location.origin, phone.trim());
              setStep('code');
            })
          }
        >
          <label htmlFor="phone">Phone number</label>
          <input
            id="phone"
            name="phone"
            type="tel"
            inputMode="tel"
            autoComplete="tel"
            placeholder="+12025550123"
            value={phone}
            onChange={(e) => setPhone(e.target.value)}
            required
          />
          <button type="submit" disabled={busy}>
            Send code
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
          <p>We sent a 6-digit code to {phone}.</p>
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
