// zonecast console: the one script of the web console, hand-written, no framework.
//
// Every screen is a server-rendered frame (no data) that this script fills with fetch calls to
// the JSON API documented in /openapi.json. Rules kept throughout:
// - text from the API goes into the page as text (textContent, createTextNode), never as markup;
// - every POST/PUT/DELETE carries the session's X-CSRF-Token (or the API token, for machines);
// - everything works by keyboard: real buttons, links and form controls, focus moved on purpose.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'zonecast.token';
  const RECENT_KEY = 'zonecast.recentZones';

  // The signed-in user: {user, role, zones, csrf} from GET /api/session, or the API token.
  let session = null;

  // ---------------------------------------------------------------------------------------------
  // Building elements: strings always become text nodes.

  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = String(v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined) continue;
      e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function row(...cells) {
    return el('tr', null, cells.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : el('td', null, c))));
  }

  function emptyRow(tbody, cols, text) {
    tbody.append(el('tr', null, el('td', { colspan: cols, class: 'muted', text })));
  }

  function when(ms) {
    return ms === null || ms === undefined ? '—' : new Date(ms).toLocaleString();
  }

  function toast(msg, bad) {
    const t = $('toast');
    if (!t) return;
    t.textContent = msg;
    t.className = bad ? 'bad' : '';
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.textContent = ''; }, 8000);
  }

  function fail(e) {
    toast(e && e.message ? e.message : String(e), true);
  }

  // The first array in an API answer: `{"pages": [...]}`, `{"users": [...]}` or a bare array.
  function list(data, key) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data[key])) return data[key];
    for (const v of Object.values(data || {})) if (Array.isArray(v)) return v;
    return [];
  }

  // ---------------------------------------------------------------------------------------------
  // The API.

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function authHeaders(method) {
    const h = {};
    const t = token();
    if (t) h.Authorization = 'Bearer ' + t;
    else if (method !== 'GET' && session && session.csrf) h['X-CSRF-Token'] = session.csrf;
    return h;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body, opts) {
    const headers = authHeaders(method);
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const r = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
    const type = r.headers.get('content-type') || '';
    const data = type.includes('json') ? await r.json().catch(() => null) : await r.text();
    if (r.status === 401 && !(opts && opts.quiet)) toSignIn();
    if (!r.ok) {
      const msg = (data && data.error) || `${r.status} ${r.statusText}`;
      throw new ApiError(r.status, msg);
    }
    return data;
  }

  // An upload with progress (fetch cannot report it): XMLHttpRequest's upload events.
  function upload(method, path, file, progress) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open(method, path);
      for (const [k, v] of Object.entries(authHeaders(method))) x.setRequestHeader(k, v);
      x.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      x.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total);
      });
      x.addEventListener('load', () => {
        let data = null;
        try { data = JSON.parse(x.responseText); } catch (_) { data = null; }
        if (x.status >= 200 && x.status < 300) resolve(data);
        else reject(new ApiError(x.status, (data && data.error) || `${x.status} ${x.statusText}`));
      });
      x.addEventListener('error', () => reject(new ApiError(0, 'the upload did not reach the server')));
      x.send(file);
    });
  }

  function toSignIn() {
    if (document.querySelector('main').dataset.screen === 'signin') return;
    sessionStorage.removeItem(TOKEN_KEY);
    location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.search);
  }

  async function loadSession() {
    if (token()) return { user: 'API token', role: 'admin', zones: null, csrf: null };
    try {
      return await api('GET', '/api/session', undefined, { quiet: true });
    } catch (_) {
      return null;
    }
  }

  async function signOut() {
    if (token()) sessionStorage.removeItem(TOKEN_KEY);
    else await api('DELETE', '/api/session', undefined, { quiet: true }).catch(() => null);
    location.href = '/signin';
  }

  // Only a path on this site: never an open redirect.
  function safeNext(n) {
    return n && n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') ? n : '/';
  }

  // ---------------------------------------------------------------------------------------------
  // Sign in.

  function signIn() {
    const next = safeNext(new URLSearchParams(location.search).get('next'));
    const error = $('signin-error');
    $('signin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        const body = { user: $('signin-user').value, password: $('signin-password').value };
        await api('POST', '/api/session', body, { quiet: true });
        sessionStorage.removeItem(TOKEN_KEY);
        location.href = next;
      } catch (e) {
        if (e.status === 401) error.textContent = 'Wrong user name or password.';
        else if (e.status === 429) error.textContent = 'Too many attempts: wait a minute, then try again.';
        else error.textContent = e.message;
        $('signin-password').focus();
      }
    });
    $('token-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      try {
        await api('GET', '/api/zones', undefined, { quiet: true });
        location.href = next;
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        error.textContent = e.status === 401 ? 'That is not the server\'s API token.' : e.message;
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Page now.

  function recentZones() {
    try {
      const r = JSON.parse(localStorage.getItem(RECENT_KEY));
      return Array.isArray(r) ? r.filter((z) => typeof z === 'string') : [];
    } catch (_) {
      return [];
    }
  }

  function rememberZone(z) {
    const r = [z, ...recentZones().filter((x) => x !== z)].slice(0, 8);
    localStorage.setItem(RECENT_KEY, JSON.stringify(r));
  }

  async function pageNow() {
    const [zones, sounds, prios] = await Promise.all([
      api('GET', '/api/zones'),
      api('GET', '/api/sounds'),
      api('GET', '/api/priorities').catch(() => null),
    ]);
    if (prios && Array.isArray(prios.levels) && prios.levels.length) {
      // The config's levels, highest first; the default chosen; the loudest ones ask first.
      loudest = Array.isArray(prios.loudest) ? prios.loudest : [];
      const psel = clear($('priority'));
      for (const l of [...prios.levels].reverse()) {
        const label = l.charAt(0).toUpperCase() + l.slice(1) + (loudest.includes(l) ? ' (loudest, overrides lower pages)' : '');
        psel.append(el('option', { value: l, text: label, selected: l === prios.default }));
      }
      psel.value = prios.default;
    }
    // The district's zones ([cluster.district]) are paged like the site's: a part per site.
    const district = list(zones, 'district_zones');
    const districtNames = new Set(district.map((z) => z.name));
    let all = list(zones, 'zones').filter((z) => !districtNames.has(z.name));
    let wide = district;
    if (Array.isArray(session.zones)) {
      all = all.filter((z) => session.zones.includes(z.name));
      wide = wide.filter((z) => session.zones.includes(z.name));
    }
    const recent = recentZones();
    const rank = (n) => (recent.includes(n) ? recent.indexOf(n) : recent.length);
    const byRank = (a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name);
    all.sort(byRank);
    wide.sort(byRank);
    const box = $('zone-list');
    $('zone-empty').textContent = all.length || wide.length ? '' : 'No zone you may page.';
    const choice = (z, id, checked, tag, isDistrict) => el('div', { class: 'choice', 'data-zone': z.name, 'data-district': isDistrict ? 'true' : null },
      el('input', { type: 'radio', name: 'zone', id, value: z.name, checked }),
      el('label', { for: id, text: z.name }),
      el('span', { class: 'tag', text: tag + (recent.includes(z.name) ? ' · recent' : '') }));
    all.forEach((z, i) => {
      const count = Array.isArray(z.phones) ? z.phones.length : 0;
      box.append(choice(z, 'zone-' + i, i === 0, `${count} phone${count === 1 ? '' : 's'}`, false));
    });
    if (wide.length) {
      const group = el('div', { class: 'choice-group', id: 'district-zones', role: 'group', 'aria-labelledby': 'district-zones-label' },
        el('p', { class: 'group-label', id: 'district-zones-label', text: 'District (every site named)' }));
      wide.forEach((z, i) => {
        const sites = list(z.sites || []);
        group.append(choice(z, 'dzone-' + i, !all.length && i === 0, `district · ${sites.length} site${sites.length === 1 ? '' : 's'}: ${sites.join(', ')}`, true));
      });
      box.append(group);
    }
    $('zone-search').addEventListener('input', () => filterZones($('zone-search').value));

    const sel = clear($('sound'));
    sel.append(el('optgroup', { label: 'Bundled' }, list(sounds, 'bundled').map((s) => el('option', { value: s, text: s }))));
    const up = sounds && Array.isArray(sounds.uploaded) ? sounds.uploaded : [];
    if (up.length) sel.append(el('optgroup', { label: 'Uploaded' }, up.map((s) => el('option', { value: 'upload:' + s, text: s }))));
    sel.append(el('optgroup', { label: 'Live' }, el('option', { value: 'mic', text: 'Microphone (this browser)' })));
    const wanted = new URLSearchParams(location.search).get('sound');
    if (wanted && [...sel.options].some((o) => o.value === wanted)) sel.value = wanted;
    sel.addEventListener('change', () => { $('mic-note').hidden = sel.value !== 'mic'; });

    if (session.role === 'viewer') {
      $('page-start').disabled = true;
      $('zone-empty').textContent = 'You may read only: paging needs an operator or an administrator.';
    }
    $('page-form').addEventListener('submit', (ev) => { ev.preventDefault(); startPage().catch(fail); });
    $('page-stop').addEventListener('click', () => stopPage().catch(fail));
  }

  function filterZones(q) {
    const needle = q.trim().toLowerCase();
    let firstVisible = null;
    for (const c of document.querySelectorAll('#zone-list .choice')) {
      const show = !needle || c.dataset.zone.toLowerCase().includes(needle);
      c.hidden = !show;
      if (show && !firstVisible) firstVisible = c;
    }
    const checked = document.querySelector('#zone-list input:checked');
    if ((!checked || checked.closest('.choice').hidden) && firstVisible) firstVisible.querySelector('input').checked = true;
    $('zone-empty').textContent = firstVisible ? '' : 'No zone matches.';
  }

  let onAir = null; // {id, mic}
  // Priority levels that play at the phones' loudest volume (from /api/priorities).
  let loudest = ['emergency'];

  async function startPage() {
    const checked = document.querySelector('#zone-list .choice:not([hidden]) input:checked');
    if (!checked) return toast('Choose a zone first.', true);
    const zone = checked.value;
    const sound = $('sound').value;
    const priority = $('priority').value;
    if (loudest.includes(priority) && !confirm(`Page "${zone}" at ${priority.toUpperCase()} priority? It plays at full volume and takes over every lower page.`)) return;
    const body = { zone, priority, source: sound };
    const banner = $('banner').value.trim();
    if (banner) body.banner = banner;
    const button = $('page-start');
    button.disabled = true;
    let mic = null;
    try {
      if (sound === 'mic') mic = await openMic();
      const r = await api('POST', '/api/pages', body);
      rememberZone(zone);
      onAir = { id: r.id, mic };
      if (mic) mic.connect(r.id);
      $('live-panel').hidden = false;
      $('page-stop').disabled = false;
      $('page-stop').textContent = 'Stop';
      watch(r.id, { active: true, page: r.page, district: r.district });
      $('page-stop').focus();
      $('live-panel').scrollIntoView({ block: 'start' });
    } catch (e) {
      if (mic) mic.close();
      throw e;
    } finally {
      button.disabled = false;
    }
  }

  async function stopPage() {
    const id = onAir ? onAir.id : $('live-page') && $('live-page').dataset.page;
    if (!id) return;
    if (onAir && onAir.mic) onAir.mic.close();
    $('page-stop').disabled = true;
    $('page-stop').textContent = 'Stopping…';
    try {
      await api('DELETE', '/api/pages/' + encodeURIComponent(id));
      toast('Stopping: each phone is told to stop.');
    } catch (e) {
      if (e.status === 404) toast('That page has already ended.');
      else {
        $('page-stop').disabled = false;
        $('page-stop').textContent = 'Stop';
        throw e;
      }
    }
  }

  // The browser's microphone: getUserMedia → a ScriptProcessor (no extra module file, which an
  // AudioWorklet needs) → 16-bit little-endian mono PCM at the context's rate → the page's
  // WebSocket. The page ends when the socket closes.
  async function openMic() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('This browser gives the microphone only to secure pages (HTTPS, or localhost).');
    }
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const ctx = new AudioContext();
    const input = ctx.createMediaStreamSource(stream);
    // 512 samples (about 11 ms at 48 kHz) per message: the engine's relay keeps at most two
    // 20 ms frames waiting, so larger blocks (2048 = 43 ms) arrive as bursts it must trim.
    const proc = ctx.createScriptProcessor(512, 1, 1);
    let ws = null;
    let closed = false;
    proc.addEventListener('audioprocess', (e) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const f = e.inputBuffer.getChannelData(0);
      const pcm = new DataView(new ArrayBuffer(f.length * 2));
      for (let i = 0; i < f.length; i++) {
        const s = Math.max(-1, Math.min(1, f[i]));
        pcm.setInt16(2 * i, s < 0 ? s * 32768 : s * 32767, true);
      }
      // A socket that stopped draining is not fed without end.
      if (ws.bufferedAmount < 1 << 20) ws.send(pcm.buffer);
    });
    input.connect(proc);
    proc.connect(ctx.destination); // the output buffer stays silent; it only keeps the node running
    const close = () => {
      if (closed) return;
      closed = true;
      stream.getTracks().forEach((t) => t.stop());
      ctx.close().catch(() => null);
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'stopped');
    };
    return {
      rate: ctx.sampleRate,
      connect(id) {
        const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
        ws = new WebSocket(`${proto}//${location.host}/api/pages/${encodeURIComponent(id)}/mic?rate=${Math.round(ctx.sampleRate)}`);
        ws.binaryType = 'arraybuffer';
        ws.addEventListener('close', (e) => {
          if (!closed && e.code !== 1000) toast(`The microphone's connection closed${e.reason ? ': ' + e.reason : ''}.`, true);
          close();
        });
      },
      close,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // A page's live state: Server-Sent Events read with fetch (so the API token works too), or
  // polling when the events route is missing.

  const ORDER = ['failed', 'stop_failed', 'refused', 'starting', 'stopping', 'accepted', 'preempted', 'stopped_by_user', 'stopped'];
  const LABEL = {
    failed: 'failed', stop_failed: 'stop failed', refused: 'refused', starting: 'starting',
    stopping: 'stopping', accepted: 'receiving', preempted: 'taken over by a higher page',
    stopped_by_user: 'hung up by the user', stopped: 'stopped',
  };
  const GROUP_OPEN_LIMIT = 100;
  // A district page's section per site.
  const SITE_LABEL = {
    asking: 'asking the site…', accepted: 'paging', ended: 'ended', refused: 'REFUSED',
    unreachable: 'UNREACHABLE', lost: 'LOST (no news from the site; its page may go on there)',
  };

  let watcher = null;

  function watch(id, first) {
    if (watcher) watcher.abort();
    const ctl = new AbortController();
    watcher = ctl;
    const view = new LiveView(id);
    if (first) view.update(first);
    // A district page (`dp-...`) has no event stream: its merged report is polled.
    if ((first && first.district) || id.startsWith('dp-')) {
      poll(id, ctl.signal, view);
      return;
    }
    follow(id, ctl.signal, view).catch((e) => {
      if (e && e.name === 'AbortError') return;
      poll(id, ctl.signal, view);
    });
  }

  async function follow(id, signal, view) {
    const headers = authHeaders('GET');
    headers.Accept = 'text/event-stream';
    const r = await fetch(`/api/pages/${encodeURIComponent(id)}/events`, { headers, signal, credentials: 'same-origin' });
    if (!r.ok || !(r.headers.get('content-type') || '').includes('text/event-stream')) throw new Error('no event stream');
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (!data.length) continue;
        let v;
        try { v = JSON.parse(data.join('\n')); } catch (_) { continue; }
        if (event === 'page' || event === 'end') view.update(v);
      }
    }
    if (!view.ended) await poll(id, signal, view);
  }

  async function poll(id, signal, view) {
    while (!signal.aborted && !view.ended) {
      try {
        view.update(await api('GET', '/api/pages/' + encodeURIComponent(id)));
      } catch (e) {
        view.error(e.message);
        if (e.status === 404) return;
      }
      if (!view.ended) await new Promise((res) => setTimeout(res, 1000));
    }
  }

  // One page's state as phones grouped by state, failures first, with totals.
  class LiveView {
    constructor(id) {
      this.id = id;
      this.ended = false;
      this.opened = {}; // groups the user opened or closed
      this.pending = null;
      clear($('live-groups'));
      clear($('live-totals'));
    }

    error(msg) {
      $('live-status').textContent = msg;
    }

    update(v) {
      this.pending = v;
      if (this.frame) return;
      // One repaint per frame however fast events come (a 1,000-phone page changes often).
      this.frame = requestAnimationFrame(() => {
        this.frame = null;
        this.render(this.pending);
      });
      if (v && v.active === false) {
        this.ended = true;
        if (onAir && onAir.id === this.id && onAir.mic) onAir.mic.close();
      }
    }

    render(v) {
      if (v && v.district) return this.district(v.active, v.district);
      if (!v || !v.page) return;
      const p = v.page;
      let phones;
      let totals;
      if (v.active && p.report) {
        phones = list(p.report.phones).map((x) => ({ name: x.name, state: x.state, reason: reason(x.failure || x.stop_failure) }));
        const t = p.report.totals || {};
        totals = [['Phones', t.phones], ['Receiving', t.accepted], ['Starting', t.starting], ['Failed', t.failed], ['Stopped', t.stopped]];
        const last = p.report.last_accept_ms;
        totals.push(['Time to last phone', last === null || last === undefined ? '—' : `${Math.round(last)} ms`]);
      } else {
        phones = list(p.outcomes || []).map((x) => ({ name: x.phone, state: x.state, reason: x.failure }));
        totals = [['Phones', p.phones], ['Reached', p.accepted], ['Failed', p.failed]];
      }
      const bits = [p.zone, p.source, p.priority, p.requested_by && 'by ' + p.requested_by, p.started_ms && 'started ' + when(p.started_ms)];
      $('live-title').textContent = bits.filter(Boolean).join(' · ') + (p.banner ? ` · banner “${p.banner}”` : '');
      const dl = clear($('live-totals'));
      for (const [k, n] of totals) dl.append(el('div', null, el('dt', { text: k }), el('dd', { text: n === undefined || n === null ? '—' : n })));
      if (v.active) {
        $('live-status').textContent = 'Live: updating as the phones answer.';
      } else {
        $('live-status').textContent = `Ended${p.ended_by ? ': ' + p.ended_by : ''}${p.ended_ms ? ' at ' + when(p.ended_ms) : ''}.`;
        const stop = $('page-stop');
        if (stop) { stop.disabled = true; stop.textContent = 'Ended'; }
      }
      this.groups(phones);
    }

    // A district page: its totals, then a section per site (status, why, counts, phones).
    district(active, d) {
      const t = d.totals || {};
      $('live-title').textContent = `District zone ${d.zone} · ${t.sites} site${t.sites === 1 ? '' : 's'}`;
      const dl = clear($('live-totals'));
      const totals = [['Sites', t.sites], ['Paged', t.paged], ['Unreachable', t.unreachable], ['Refused', t.refused],
        ['Phones', t.phones], ['Receiving', t.accepted], ['Failed', t.failed]];
      for (const [k, n] of totals) dl.append(el('div', null, el('dt', { text: k }), el('dd', { text: n === undefined || n === null ? '—' : n })));
      if (active) {
        $('live-status').textContent = 'Live: updating as the sites report.';
      } else {
        $('live-status').textContent = `Ended: ${t.paged} of ${t.sites} sites paged, ${t.unreachable} unreachable, ${t.refused} refused; ${t.accepted} of ${t.phones} phones reached.`;
        const stop = $('page-stop');
        if (stop) { stop.disabled = true; stop.textContent = 'Ended'; }
      }
      const box = clear($('live-groups'));
      for (const sec of list(d.sites || [])) {
        const phones = list(sec.phones || []);
        const why = sec.reason || sec.ended_by || '';
        box.append(el('section', { class: 'site-section site-' + sec.status, 'data-site': sec.site, 'data-status': sec.status },
          el('h3', null, `${sec.site}:${sec.zone} — `, el('span', { class: 'site-status', text: SITE_LABEL[sec.status] || sec.status })),
          why ? el('p', { class: 'reason', text: why }) : null,
          // What a site said while it is asked or starting (its standby answered, its zone busy).
          sec.note && !why ? el('p', { class: 'site-note', text: sec.note }) : null,
          el('p', { class: 'site-counts', text: `${sec.accepted} of ${sec.phones_total} phones ${sec.status === 'ended' ? 'reached' : 'receiving'}${sec.failed ? `, ${sec.failed} failed` : ''}` }),
          phones.length ? el('details', { class: 'group' },
            el('summary', { text: `Phones (${phones.length})` }),
            el('ul', null, phones.map((ph) => el('li', { 'data-phone': ph.name, 'data-state': ph.state },
              el('span', { class: 'phone', text: ph.name }), ' — ',
              el('span', { class: 'state', text: LABEL[ph.state] || ph.state }),
              ph.failure ? el('span', { class: 'reason', text: ': ' + ph.failure }) : null)))) : null));
      }
    }

    groups(phones) {
      const by = {};
      for (const ph of phones) (by[ph.state] = by[ph.state] || []).push(ph);
      const states = ORDER.filter((s) => by[s]).concat(Object.keys(by).filter((s) => !ORDER.includes(s)));
      // A keyboard user's focus survives the re-render: back on the same group's summary.
      const active = document.activeElement;
      const focusedGroup = active && active.closest ? active.closest('#live-groups details') : null;
      const focusState = focusedGroup ? focusedGroup.dataset.state : null;
      const box = clear($('live-groups'));
      for (const s of states) {
        const members = by[s].sort((a, b) => a.name.localeCompare(b.name));
        const failing = s === 'failed' || s === 'stop_failed' || s === 'refused';
        const open = s in this.opened ? this.opened[s] : failing || members.length <= GROUP_OPEN_LIMIT;
        const d = el('details', { class: 'group state-' + s, 'data-state': s, open },
          el('summary', { text: `${LABEL[s] || s} (${members.length})` }),
          el('ul', null, members.map((ph) => el('li', { 'data-phone': ph.name, 'data-state': ph.state },
            el('span', { class: 'phone', text: ph.name }), ' — ',
            el('span', { class: 'state', text: LABEL[ph.state] || ph.state }),
            ph.reason ? el('span', { class: 'reason', text: ': ' + ph.reason }) : null))));
        // Only a person's toggle is remembered: the browser also fires one for the open the
        // render itself set, which must not pin a group open once it grows past the limit.
        d.addEventListener('toggle', () => { if (d.open !== open) this.opened[s] = d.open; });
        box.append(d);
        if (s === focusState) d.querySelector('summary').focus();
      }
    }
  }

  function reason(f) {
    if (!f) return null;
    if (typeof f === 'string') return f;
    return f.reason || f.kind || JSON.stringify(f);
  }

  function liveScreen() {
    const id = $('live-page').dataset.page;
    $('page-stop').addEventListener('click', () => stopPage().catch(fail));
    watch(id, null);
  }

  // ---------------------------------------------------------------------------------------------
  // History.

  function outcomeOf(p) {
    if (p.ended_ms === null || p.ended_ms === undefined) return 'running';
    if (p.accepted === 0) return 'none';
    if (p.failed > 0 || p.accepted < p.phones) return 'some';
    return 'all';
  }

  function localDate(ms) {
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  async function historyScreen() {
    const [h, bells, zones, recs, calls] = await Promise.all([
      api('GET', '/api/history?limit=1000'),
      api('GET', '/api/bells/history?limit=200').catch(() => ({ bells: [] })),
      api('GET', '/api/zones'),
      api('GET', '/api/recoveries?limit=200').catch(() => ({ recoveries: [] })),
      api('GET', '/api/calls').catch(() => ({ in_progress: [], recent: [] })),
    ]);
    const pages = list(h, 'pages');
    const zsel = $('f-zone');
    for (const z of list(zones, 'zones')) zsel.append(el('option', { value: z.name, text: z.name }));
    const render = () => {
      const zone = zsel.value;
      const user = $('f-user').value.trim().toLowerCase();
      const date = $('f-date').value;
      const outcome = $('f-outcome').value;
      const rows = clear($('history-rows'));
      const shown = pages.filter((p) => (!zone || p.zone === zone)
        && (!user || String(p.requested_by || '').toLowerCase().includes(user))
        && (!date || localDate(p.started_ms) === date)
        && (!outcome || outcomeOf(p) === outcome));
      for (const p of shown) {
        const more = el('button', { type: 'button', 'aria-controls': 'history-detail', text: 'Per phone', onclick: () => historyDetail(p.page).catch(fail) });
        const tr = row(when(p.started_ms), p.zone, p.source + (p.banner ? ` (“${p.banner}”)` : ''), p.requested_by,
          `${p.accepted}/${p.phones}${p.failed ? `, ${p.failed} failed` : ''}`,
          p.ended_by || 'running',
          el('td', null, more, ' ', el('a', { href: '/live/' + encodeURIComponent(p.page), text: 'Live view' })));
        tr.dataset.page = p.page;
        rows.append(tr);
      }
      if (!shown.length) emptyRow(rows, 7, pages.length ? 'No page matches these filters.' : 'No page yet.');
    };
    for (const id of ['f-zone', 'f-user', 'f-date', 'f-outcome']) {
      $(id).addEventListener('input', render);
      $(id).addEventListener('change', render);
    }
    $('history-filters').addEventListener('submit', (ev) => ev.preventDefault());
    render();
    const b = clear($('bells-history'));
    for (const e of list(bells, 'bells')) b.append(row(when(e.due_ms), e.bell, e.outcome, e.detail || ''));
    if (!b.firstChild) emptyRow(b, 4, 'No bell has come due yet.');
    const r = clear($('recoveries'));
    for (const e of list(recs, 'recoveries')) {
      r.append(row(when(e.at_ms), e.phone, e.page, e.stopped ? 'stopped' : 'NOT STOPPED: ' + (e.error || 'no answer')));
    }
    if (!r.firstChild) emptyRow(r, 4, 'No recovery was needed.');
    const c = clear($('calls'));
    for (const k of [...list(calls, 'in_progress'), ...list(calls, 'recent')]) {
      const secs = k.duration_ms === undefined ? 'in progress' : `${Math.round(k.duration_ms / 1000)} s`;
      const tr = row(when(k.started_ms), k.caller, k.number, k.zone, k.mode, secs, k.outcome || 'in progress');
      tr.dataset.call = k.call;
      c.append(tr);
    }
    if (!c.firstChild) emptyRow(c, 7, 'No call yet.');
  }

  async function historyDetail(id) {
    const d = await api('GET', '/api/history/' + encodeURIComponent(id));
    const box = clear($('history-detail'));
    box.hidden = false;
    const tbody = el('tbody', { id: 'history-outcomes' });
    for (const o of list(d.outcomes || [])) {
      const tr = row(o.phone, LABEL[o.state] || o.state, o.failure || '', when(o.at_ms));
      tr.dataset.phone = o.phone;
      tr.dataset.state = o.state;
      tbody.append(tr);
    }
    if (!tbody.firstChild) emptyRow(tbody, 4, 'No phone outcome recorded.');
    box.append(
      el('h2', { tabindex: '-1', id: 'history-detail-heading', text: `Page ${id}: ${d.zone}` }),
      el('p', { text: `${d.source} · by ${d.requested_by} · ${when(d.started_ms)} · ${d.ended_by || 'running'}` }),
      el('div', { class: 'scroll' }, el('table', null,
        el('thead', null, el('tr', null, el('th', { text: 'Phone' }), el('th', { text: 'Outcome' }), el('th', { text: 'Reason' }), el('th', { text: 'At' }))),
        tbody)));
    $('history-detail-heading').focus();
  }

  // ---------------------------------------------------------------------------------------------
  // Zones and phones (read-only).

  const FAILED = new Set(['failed', 'stop_failed', 'refused']);

  async function zonesScreen() {
    const [zones, phones] = await Promise.all([api('GET', '/api/zones'), api('GET', '/api/phones')]);
    const zb = clear($('zones-rows'));
    for (const z of list(zones, 'zones')) {
      const members = list(z.members || []).join(', ');
      const rule = z.from_cucm ? 'from CUCM: ' + ruleText(z.from_cucm) : '';
      const tr = row(z.name, z.mode, list(z.phones || []).length, z.banner || '', [members, rule].filter(Boolean).join(' · '));
      tr.dataset.zone = z.name;
      zb.append(tr);
    }
    // The district's zones: a part per SITE:ZONE member, the phones those sites' own.
    for (const z of list(zones, 'district_zones')) {
      const tr = row(z.name, 'district', '—', '', 'sites ' + list(z.members || []).join(', '));
      tr.dataset.zone = z.name;
      tr.dataset.district = 'true';
      zb.append(tr);
    }
    if (!zb.firstChild) emptyRow(zb, 5, 'The configuration has no zone.');
    const ps = list(phones, 'phones').slice();
    ps.sort((a, b) => Number(FAILED.has(b.last_outcome)) - Number(FAILED.has(a.last_outcome)) || a.name.localeCompare(b.name));
    const pb = clear($('phones-rows'));
    for (const p of ps) {
      const last = p.last_outcome ? (LABEL[p.last_outcome] || p.last_outcome) + (p.last_failure ? ': ' + p.last_failure : '') : '—';
      const now = p.page ? el('a', { href: '/live/' + encodeURIComponent(p.page.id), text: LABEL[p.page.state] || p.page.state }) : '—';
      const tr = row(p.name, p.model, p.host, list(p.zones || []).join(', '), last, el('td', null, now));
      tr.dataset.phone = p.name;
      pb.append(tr);
    }
    if (!pb.firstChild) emptyRow(pb, 6, 'The configuration has no phone.');
  }

  // A zone's from_cucm rule in words: `device pool DP-HQ, description (?i)lobby`.
  function ruleText(r) {
    return Object.entries(r).filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(', ');
  }

  // ---------------------------------------------------------------------------------------------
  // Phones from CUCM: the table as discovered, its last refresh, Refresh now (admins).

  const CUCM_ROWS = 500;
  let cucmTable = null;

  function ago(ms) {
    if (ms === null || ms === undefined) return '—';
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    return `${Math.round(s / 3600)} h`;
  }

  function changesText(r) {
    if (!r.changes) return r.from_cache ? 'the cached table (young enough: CUCM not asked)' : 'the first table';
    const c = r.changes.counts;
    const moved = r.changes.moved.slice(0, 3).map((m) => `${m.name} ${m.from || '—'} → ${m.to || '—'}`);
    return `${c.added} added, ${c.removed} removed, ${c.moved} moved, ${c.model_changed} model changed` +
      (moved.length ? ` (${moved.join('; ')}${c.moved > moved.length ? '; …' : ''})` : '');
  }

  function paintCucmSummary(t) {
    const dl = clear($('cucm-summary'));
    const item = (k, v) => dl.append(el('div', null, el('dt', { text: k }), el('dd', { text: v })));
    item('Phones', t.phones.length);
    item('Discovered', t.discovered_ms ? `${when(t.discovered_ms)} (${ago(t.age_ms)} ago)` : 'not yet');
    item('From', t.discovered_ms === null ? '—' : t.from_cache ? 'the cache' : 'CUCM ' + t.host);
    item('Next refresh', t.refreshing ? 'running now' : when(t.next_refresh_ms));
    const last = t.last_refresh;
    item('Last refresh', last ? `${when(last.finished_ms)}: ${last.error ? 'failed' : changesText(last)}` : '—');
    $('cucm-error').textContent = last && last.error
      ? `The last refresh failed: ${last.error}. Pages use the table from ${when(t.discovered_ms)}.` : '';
  }

  function paintCucmRows() {
    const q = $('cucm-filter').value.trim().toLowerCase();
    const all = cucmTable ? cucmTable.phones : [];
    const hit = (p) => !q || [p.name, p.model, p.address || '', p.device_pool, p.description || '', ...p.directory_numbers]
      .some((v) => String(v).toLowerCase().includes(q));
    const rows = all.filter(hit);
    const tb = clear($('cucm-rows'));
    for (const p of rows.slice(0, CUCM_ROWS)) {
      const reg = p.registered ? 'yes' : 'no (' + p.state + ')';
      const web = p.web_access === null ? '—' : p.web_access ? 'on' : 'off';
      const tr = row(p.name, p.model, p.address || '—', p.directory_numbers.join(', '), p.device_pool, reg, web);
      tr.dataset.phone = p.name;
      if (!p.registered || p.web_access === false) tr.className = 'unreachable';
      tb.append(tr);
    }
    if (!rows.length) emptyRow(tb, 7, all.length ? 'No phone matches.' : 'No phone discovered yet.');
    $('cucm-count').textContent = rows.length > CUCM_ROWS
      ? `${rows.length} phones match; the first ${CUCM_ROWS} are shown: narrow the search.`
      : `${rows.length} of ${all.length} phones.`;
  }

  async function loadCucm() {
    cucmTable = await api('GET', '/api/cucm');
    if (!cucmTable.configured) {
      $('cucm-error').textContent = 'The configuration has no [cucm]: its phones are the ones it lists.';
      return;
    }
    paintCucmSummary(cucmTable);
    paintCucmRows();
  }

  async function refreshCucm() {
    const button = $('cucm-refresh');
    const status = $('cucm-status');
    button.disabled = true;
    status.textContent = 'Refreshing from CUCM…';
    try {
      const r = await api('POST', '/api/cucm/refresh');
      status.textContent = `Refreshed${r.joined ? ' (joined the refresh already running)' : ''}: ${r.phones} phones; ${changesText(r)}.`;
    } catch (e) {
      status.textContent = 'The refresh failed: ' + e.message;
    } finally {
      button.disabled = false;
      await loadCucm().catch(fail);
    }
  }

  async function cucmScreen() {
    if (session.role === 'admin') {
      const button = $('cucm-refresh');
      button.hidden = false;
      button.addEventListener('click', () => refreshCucm().catch(fail));
    }
    $('cucm-filter').addEventListener('input', paintCucmRows);
    await loadCucm();
  }

  // ---------------------------------------------------------------------------------------------
  // The district: every node's status at the hub, and the district's history.

  async function loadCluster() {
    const [st, hist] = await Promise.all([
      api('GET', '/api/cluster'),
      api('GET', '/api/history?scope=district&limit=50').catch((e) => ({ error: e.message })),
    ]);
    $('cluster-error').textContent = st.district_error
      ? `The hub does not answer (${st.district_error}): this node only.` : (hist.error || '');
    const tb = clear($('cluster-rows'));
    for (const n of st.nodes || [st.here]) {
      const tr = row(n.site, n.node, n.leader ? 'yes' : 'no', n.leader ? n.token : '—', n.lag,
        `${ago(n.last_contact_ms_ago)} ago`);
      tr.dataset.node = `${n.site}/${n.node}`;
      if (n.last_contact_ms_ago > 3 * st.status_every_ms) tr.className = 'unreachable';
      tb.append(tr);
    }
    const hb = clear($('district-rows'));
    const items = [
      ...(hist.pages || []).map((p) => ({ at: p.started_ms, what: 'page', target: p.zone, outcome: p.ended_by || 'running', p })),
      ...(hist.bells || []).map((b) => ({ at: b.due_ms, what: 'bell', target: b.bell, outcome: b.outcome, p: b })),
    ].sort((x, y) => y.at - x.at).slice(0, 50);
    for (const i of items) {
      const tr = row(when(i.at), i.p.site, i.p.node, i.what, i.target || '—', i.outcome || '—');
      if (i.p.page) tr.dataset.page = i.p.page;
      hb.append(tr);
    }
    if (!items.length) emptyRow(hb, 6, hist.error ? 'Not available.' : 'Nothing yet.');
  }

  async function clusterScreen() {
    await loadCluster();
    setInterval(() => loadCluster().catch(fail), 2000);
  }

  // ---------------------------------------------------------------------------------------------
  // Bells.

  async function bellsScreen() {
    const [next, hist] = await Promise.all([
      api('GET', '/api/bells?n=500'),
      api('GET', '/api/bells/history?limit=200').catch(() => ({ bells: [] })),
    ]);
    const firings = list(next, 'next');
    $('bells-tz').textContent = next.timezone ? `Times are the bells' own: ${next.timezone}.` : 'The configuration has no bells.';
    const nb = clear($('bells-next'));
    for (const f of firings.slice(0, 20)) nb.append(row(f.local || f.at, f.bell, list(f.zones || []).join(', '), f.source || ''));
    if (!nb.firstChild) emptyRow(nb, 4, 'No bell is due.');
    const ring = clear($('bells-ring'));
    for (const name of [...new Set(firings.map((f) => f.bell))].sort()) {
      ring.append(el('li', null, el('button', {
        type: 'button', 'data-bell': name, text: `Ring “${name}” now`,
        onclick: () => ringBell(name).catch(fail),
      })));
    }
    if (!ring.firstChild) ring.append(el('li', { class: 'muted', text: 'No bell to ring.' }));
    const week = clear($('bells-week'));
    const horizon = Date.now() + 7 * 86400 * 1000;
    const days = new Map();
    for (const f of firings) {
      if (Date.parse(f.at) > horizon) continue;
      const day = /^\d{4}-\d\d-\d\d/.test(f.local || '') ? f.local.slice(0, 10) : new Date(f.at).toDateString();
      if (!days.has(day)) days.set(day, []);
      days.get(day).push(f);
    }
    for (const [day, fs] of days) {
      week.append(el('section', null, el('h3', { text: day }),
        el('ul', null, fs.map((f) => el('li', { text: `${(f.local || '').slice(11, 16) || new Date(f.at).toLocaleTimeString()} ${f.bell}` })))));
    }
    if (!week.firstChild) week.append(el('p', { class: 'muted', text: 'No bell in the next seven days.' }));
    const mb = clear($('bells-missed'));
    for (const e of list(hist, 'bells').filter((x) => x.outcome === 'missed')) mb.append(row(when(e.due_ms), e.bell, e.detail || ''));
    if (!mb.firstChild) emptyRow(mb, 3, 'No bell was missed.');
  }

  async function ringBell(name) {
    if (!confirm(`Ring the bell “${name}” now?`)) return;
    const r = await api('POST', `/api/bells/${encodeURIComponent(name)}/ring`);
    const pages = list(r, 'pages');
    toast(`Ringing “${name}”${pages.length ? ': ' + pages.length + ' page(s) started' : ''}.`);
  }

  // ---------------------------------------------------------------------------------------------
  // Sounds and ringtones.

  async function soundsScreen() {
    await loadSounds();
    $('upload-form').addEventListener('submit', (ev) => { ev.preventDefault(); uploadSound().catch(fail); });
    $('ringtone-form').addEventListener('submit', (ev) => { ev.preventDefault(); makeRingtone().catch(fail); });
  }

  async function loadSounds() {
    const s = await api('GET', '/api/sounds');
    const ul = clear($('sounds-list'));
    const admin = session.role === 'admin';
    const item = (name, uploaded) => el('li', { 'data-sound': name },
      el('span', { class: 'name', text: name }),
      el('span', { class: 'muted', text: uploaded ? 'uploaded' : 'bundled' }),
      el('audio', { controls: true, preload: 'none', src: `/api/sounds/${encodeURIComponent(name)}/audio`, 'aria-label': 'Listen to ' + name }),
      el('a', { href: '/?sound=' + encodeURIComponent(uploaded ? 'upload:' + name : name), text: 'Page it' }),
      uploaded && admin ? el('button', { type: 'button', text: 'Delete', 'aria-label': 'Delete ' + name, onclick: () => deleteSound(name).catch(fail) }) : null);
    for (const n of list(s, 'bundled')) ul.append(item(n, false));
    for (const n of (s && s.uploaded) || []) ul.append(item(n, true));
  }

  async function deleteSound(name) {
    if (!confirm(`Delete the sound “${name}”? Bells that play it will fail.`)) return;
    await api('DELETE', '/api/sounds/' + encodeURIComponent(name));
    toast(`Deleted “${name}”.`);
    await loadSounds();
  }

  async function uploadSound() {
    const name = $('upload-name').value.trim();
    const file = $('upload-file').files[0];
    const status = $('upload-status');
    const bar = $('upload-progress');
    if (!file) return;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = 'Uploading…';
    try {
      const r = await upload('PUT', '/api/sounds/' + encodeURIComponent(name), file, bar);
      bar.value = 100;
      status.textContent = `Stored “${r.name}” (${Number(r.seconds).toFixed(1)} s). Page it as ${r.source}.`;
      await loadSounds();
    } catch (e) {
      status.textContent = 'Not stored: ' + e.message;
    }
  }

  async function makeRingtone() {
    const name = $('ringtone-name').value.trim();
    const file = $('ringtone-file').files[0];
    const out = clear($('ringtone-result'));
    const bar = $('ringtone-progress');
    if (!file) return;
    bar.hidden = false;
    bar.value = 0;
    try {
      const r = await upload('POST', '/api/ringtones?name=' + encodeURIComponent(name), file, bar);
      out.append(el('p', { text: `Made “${r.name}”:` }),
        el('ul', { id: 'ringtone-files' }, list(r.files || []).map((f) => el('li', null,
          el('a', { href: f.url, download: f.name, text: f.name }),
          ` (${f.format || ''}, ${Number(f.seconds || 0).toFixed(1)} s, ${f.bytes || 0} bytes)`))),
        r.ringlist_url ? el('p', null, el('a', { href: r.ringlist_url, download: 'RingList.xml', text: 'The ring list (RingList.xml)' })) : null,
        r.ringlist_wb_url ? el('p', null, el('a', { href: r.ringlist_wb_url, download: 'Ringlist-wb.xml', text: 'The wideband ring list (Ringlist-wb.xml)' })) : null,
        list(r.rules || []).length ? el('div', null, el('p', { text: 'Rules applied:' }), el('ul', null, r.rules.map((x) => el('li', { text: x })))) : null);
    } catch (e) {
      out.append(el('p', { class: 'error', text: 'Not converted: ' + e.message }));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Recordings.

  async function recordingsScreen() {
    const phones = await api('GET', '/api/phones');
    const sel = $('record-phone');
    for (const p of list(phones, 'phones')) sel.append(el('option', { value: p.name, text: p.name }));
    $('record-form').addEventListener('submit', (ev) => { ev.preventDefault(); startRecording().catch(fail); });
    await loadRecordings();
  }

  async function loadRecordings() {
    const tb = clear($('recordings-rows'));
    let recs;
    try {
      recs = list(await api('GET', '/api/recordings'), 'recordings');
    } catch (e) {
      emptyRow(tb, 4, 'Recordings are not available: ' + e.message);
      return;
    }
    for (const r of recs) {
      const id = String(r.id);
      const src = '/api/recordings/' + encodeURIComponent(id);
      const done = r.state === 'done';
      const secs = r.recorded_seconds === null || r.recorded_seconds === undefined ? '' : ` · ${Number(r.recorded_seconds).toFixed(1)} s`;
      const tr = row(`${when(r.started_ms)} · ${r.state || ''}${secs}${r.failure ? ': ' + r.failure : ''}`, r.phone || '',
        el('td', null, done ? el('audio', { controls: true, preload: 'none', src, 'aria-label': 'Listen to recording ' + id }) : '—'),
        el('td', null, done ? el('a', { href: src, download: id + '.wav', text: 'Download' }) : '—'));
      tr.dataset.recording = id;
      tr.dataset.state = r.state || '';
      tb.append(tr);
    }
    if (!tb.firstChild) emptyRow(tb, 4, 'No recording yet.');
  }

  async function startRecording() {
    const phone = $('record-phone').value;
    const seconds = Number($('record-seconds').value);
    const r = await api('POST', '/api/recordings', { phone, seconds });
    $('record-status').textContent = `Recording ${phone} for ${seconds} s${r && r.id ? ' (' + r.id + ')' : ''}.`;
    setTimeout(() => loadRecordings().catch(fail), (seconds + 2) * 1000);
    await loadRecordings();
  }

  // ---------------------------------------------------------------------------------------------
  // Users (admins) and one's own password.

  async function usersScreen() {
    $('password-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      api('POST', '/api/session/password', { old: $('pw-old').value, new: $('pw-new').value })
        .then(() => { $('pw-status').textContent = 'Password changed.'; $('pw-old').value = ''; $('pw-new').value = ''; })
        .catch((e) => { $('pw-status').textContent = 'Not changed: ' + e.message; });
    });
    if (session.role !== 'admin') return;
    $('users-admin').hidden = false;
    $('user-form').addEventListener('submit', (ev) => { ev.preventDefault(); addUser().catch((e) => { $('user-status').textContent = 'Not added: ' + e.message; }); });
    await loadUsers();
  }

  function zonesField(text) {
    const zs = text.split(',').map((z) => z.trim()).filter(Boolean);
    return zs.length ? zs : null;
  }

  async function loadUsers() {
    const tb = clear($('users-rows'));
    const [users, audit] = await Promise.all([
      api('GET', '/api/users').catch((e) => ({ error: e.message })),
      api('GET', '/api/audit?limit=200').catch(() => ({ entries: [] })),
    ]);
    if (users.error) return emptyRow(tb, 4, 'Users are not available: ' + users.error);
    for (const u of list(users, 'users')) {
      const role = el('select', { 'aria-label': 'Role of ' + u.name },
        ['admin', 'operator', 'viewer'].map((r) => el('option', { value: r, text: r, selected: r === u.role })));
      const zones = el('input', { type: 'text', value: (u.zones || []).join(', '), 'aria-label': 'Zones of ' + u.name });
      const save = el('button', { type: 'button', text: 'Save', onclick: () => putUser(u.name, { role: role.value, zones: zonesField(zones.value) }).catch(fail) });
      const pw = el('button', { type: 'button', text: 'New password', onclick: () => {
        const p = prompt(`New password for ${u.name}:`);
        if (p) putUser(u.name, { password: p }).catch(fail);
      } });
      const del = el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: () => deleteUser(u.name).catch(fail) });
      const tr = row(u.name, el('td', null, role), el('td', null, zones), el('td', null, save, ' ', pw, ' ', del));
      tr.dataset.user = u.name;
      tb.append(tr);
    }
    const ab = clear($('audit-rows'));
    for (const a of list(audit, 'entries').slice(0, 200)) {
      ab.append(row(when(a.at_ms), a.actor || '', `${a.action || ''} ${a.target || ''}${a.detail ? ': ' + a.detail : ''}`));
    }
    if (!ab.firstChild) emptyRow(ab, 3, 'No change recorded.');
  }

  async function addUser() {
    const body = { name: $('nu-name').value.trim(), role: $('nu-role').value, password: $('nu-password').value };
    const zones = zonesField($('nu-zones').value);
    if (zones) body.zones = zones;
    await api('POST', '/api/users', body);
    $('user-status').textContent = `Added ${body.name}.`;
    $('nu-password').value = '';
    await loadUsers();
  }

  async function putUser(name, body) {
    await api('PUT', '/api/users/' + encodeURIComponent(name), body);
    toast(`Saved ${name}.`);
    await loadUsers();
  }

  async function deleteUser(name) {
    if (!confirm(`Delete the user ${name}?`)) return;
    await api('DELETE', '/api/users/' + encodeURIComponent(name));
    toast(`Deleted ${name}.`);
    await loadUsers();
  }

  // ---------------------------------------------------------------------------------------------
  // Health.

  function flatten(v, prefix, out) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix} · ${k}` : k, out);
    } else {
      out.push([prefix, Array.isArray(v) ? v.join(', ') : v === null ? '—' : String(v)]);
    }
    return out;
  }

  async function healthScreen() {
    const paint = async () => {
      const dl = $('health-list');
      try {
        const h = await api('GET', '/api/health');
        clear(dl);
        for (const [k, v] of flatten(h, '', [])) dl.append(el('dt', { text: k.replace(/_/g, ' ') }), el('dd', { text: v }));
      } catch (e) {
        clear(dl).append(el('dt', { text: 'health' }), el('dd', { text: 'not available: ' + e.message }));
      }
    };
    await paint();
    setInterval(paint, 5000);
  }

  // ---------------------------------------------------------------------------------------------
  // Start.

  const SCREENS = {
    page: pageNow, live: liveScreen, history: historyScreen, zones: zonesScreen, cucm: cucmScreen, cluster: clusterScreen, bells: bellsScreen,
    sounds: soundsScreen, recordings: recordingsScreen, users: usersScreen, health: healthScreen,
  };

  async function boot() {
    const screen = document.querySelector('main').dataset.screen;
    if (screen === 'signin') {
      signIn();
      document.body.dataset.ready = '1';
      return;
    }
    session = await loadSession();
    if (!session) return toSignIn();
    $('whoami').textContent = `${session.user} (${session.role})`;
    $('signout').addEventListener('click', () => signOut().catch(fail));
    if (session.role !== 'admin') {
      const a = document.querySelector('a[data-nav="users"]');
      if (a) a.textContent = 'My password';
    }
    try {
      await SCREENS[screen]();
    } catch (e) {
      fail(e);
    }
    document.body.dataset.ready = '1';
  }

  document.addEventListener('DOMContentLoaded', () => { boot().catch(fail); });
})();
