// The Parley admin console (C14): a thin page over /v1/admin/... The token stays in this page's
// memory only (never in storage or the address bar); every answer comes from the audited API.
const $ = (id) => document.getElementById(id);
let token = '';

function showError(e) {
  $('error').textContent = e ? `${e.code ?? 'error'}: ${e.message ?? String(e)}` : '';
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const data = await res.json();
  if (!res.ok) throw data.error ?? { code: String(res.status), message: res.statusText };
  return data;
}

$('signin').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  token = $('token').value.trim();
  $('token').value = '';
  try {
    const me = await api('GET', '/v1/admin/me');
    $('whoami').textContent = `Signed in as ${me.name} (${me.role}).`;
    $('lookup-section').hidden = !me.permissions.includes('account.lookup');
    $('audit-section').hidden = !me.permissions.includes('audit.read');
    $('reports-section').hidden = !me.permissions.includes('reports.list');
    $('ops-section').hidden = !me.permissions.includes('stats.read');
  } catch (e) {
    token = '';
    $('whoami').textContent = 'Not signed in.';
    showError(e);
  }
});

$('lookup').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  const who = $('who').value.trim();
  const reason = $('reason').value.trim();
  try {
    const out = await api(
      'POST',
      '/v1/admin/accounts/lookup',
      who.startsWith('+') ? { phone: who, reason } : { accountId: who, reason },
    );
    $('lookup-result').textContent = JSON.stringify(out, null, 2);
  } catch (e) {
    $('lookup-result').textContent = '';
    showError(e);
  }
});

function fillAudit(entries) {
  const body = $('audit-table').querySelector('tbody');
  body.replaceChildren();
  for (const e of entries) {
    const tr = document.createElement('tr');
    for (const v of [
      e.seq,
      new Date(e.time).toISOString(),
      e.admin,
      e.role ?? '',
      e.action,
      e.target ?? '',
      e.reason ?? '',
      e.hash.slice(0, 12) + '…',
    ]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    body.append(tr);
  }
  $('audit-table').hidden = false;
}

$('load-audit').addEventListener('click', async () => {
  showError(null);
  try {
    const all = [];
    let after = 0;
    for (;;) {
      const page = await api('GET', `/v1/admin/audit?afterSeq=${after}&limit=1000`);
      all.push(...page.entries);
      if (page.entries.length < 1000) break;
      after = page.nextAfterSeq;
    }
    fillAudit(all);
  } catch (e) {
    showError(e);
  }
});

$('load-alerts').addEventListener('click', async () => {
  showError(null);
  try {
    fillAudit((await api('GET', '/v1/admin/alerts?limit=1000')).alerts);
  } catch (e) {
    showError(e);
  }
});

$('verify-audit').addEventListener('click', async () => {
  showError(null);
  try {
    const r = await api('GET', '/v1/admin/audit/verify');
    const p = $('verify-result');
    p.className = r.ok ? 'ok' : 'broken';
    p.textContent = r.ok
      ? `Chain intact: ${r.entries} entries, head ${r.head ?? '(empty)'}.`
      : `Chain BROKEN at entry ${r.firstBroken.seq} (${r.firstBroken.problem}); ${r.entries} entries before it check out.`;
  } catch (e) {
    showError(e);
  }
});

for (const [id, path] of [
  ['load-stats', '/v1/admin/stats'],
  ['load-admins', '/v1/admin/admins'],
]) {
  $(id).addEventListener('click', async () => {
    showError(null);
    try {
      $('ops-result').textContent = JSON.stringify(await api('GET', path), null, 2);
    } catch (e) {
      showError(e);
    }
  });
}

$('load-reports').addEventListener('click', async () => {
  showError(null);
  try {
    const { reports } = await api('GET', '/v1/admin/reports');
    const body = $('reports-table').querySelector('tbody');
    body.replaceChildren();
    for (const r of reports) {
      const tr = document.createElement('tr');
      const cells = [
        r.id,
        new Date(r.createdAt).toISOString(),
        r.reporterAccount,
        r.reportedAccount,
        r.category,
        r.reason,
      ];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      body.append(tr);
    }
    $('reports-table').hidden = false;
  } catch (e) {
    showError(e);
  }
});

$('report-read').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  try {
    const out = await api('POST', '/v1/admin/reports/read', {
      reportId: $('report-id').value.trim(),
      reason: $('report-reason').value.trim(),
    });
    $('report-result').textContent = JSON.stringify(out, null, 2);
  } catch (e) {
    $('report-result').textContent = '';
    showError(e);
  }
});
