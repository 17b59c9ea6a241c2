// tlspost serve's pages (served as /_tlspost/app.js: the pages carry no inline script).
// The list (/_tlspost/): the filter in the address is the API's query; the newest 200 that match,
// older pages on demand, new captures live from the event stream (checked against the filter by
// the API; a capture sent again when its response ended updates its row), two picked to compare,
// the HAR of what is shown or picked, clearing. A capture's page: replay (with how the responses
// differ) and delete. Every value from a capture is set as text (textContent), never as HTML;
// state changes are POSTs carrying the page's CSRF token.
'use strict';
(function () {
  const PAGE = 200;
  const $ = id => document.getElementById(id);

  // A POST that changes something, with the CSRF token; resolves to the parsed JSON answer.
  function post(url, csrf) {
    return fetch(url, { method: 'POST', headers: { 'X-Tlspost-Csrf': csrf } }).then(r =>
      r.text().then(t => {
        if (!r.ok) throw new Error(t.trim() || r.status + '');
        return t ? JSON.parse(t) : {};
      }));
  }

  // A button that asks to be clicked twice before it acts (no dialogs).
  function twice(button, ask, act) {
    const label = button.textContent;
    let armed = false;
    button.addEventListener('click', () => {
      if (!armed) {
        armed = true;
        button.textContent = ask();
        setTimeout(() => { armed = false; button.textContent = label; }, 5000);
        return;
      }
      armed = false;
      button.disabled = true;
      act().finally(() => { button.disabled = false; button.textContent = label; });
    });
  }

  // A link with text.
  function link(href, text, id) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    if (id) a.id = id;
    return a;
  }

  // How a replay's response differs from the original's (the API's `difference`), as text.
  function difference(d) {
    const box = document.createElement('div');
    box.id = 'replay-difference';
    const line = t => { const p = document.createElement('p'); p.textContent = t; box.appendChild(p); return p; };
    const [was, now] = d.status || [0, 0];
    line(was === now ? 'Status: ' + now + ', the same.' : 'Status: ' + (now || 'none') + ' (the original’s: ' + (was || 'none') + ').');
    const fields = d.headers || [];
    if (fields.length) {
      line('Header fields that differ (original → replay):');
      const wrap = document.createElement('div');
      wrap.className = 'scroll';
      const table = document.createElement('table');
      for (const [name, a, b] of fields) {
        const tr = document.createElement('tr');
        for (const t of [name, a == null ? '(absent)' : a, b == null ? '(absent)' : b]) {
          const td = document.createElement('td');
          const code = document.createElement('code');
          code.textContent = t;
          td.appendChild(code);
          tr.appendChild(td);
        }
        table.appendChild(tr);
      }
      wrap.appendChild(table);
      box.appendChild(wrap);
    } else {
      line('Header fields: the same.');
    }
    const [lenA, lenB] = d.body_len || [0, 0];
    line(d.body_same ? 'Body: the same bytes (' + lenB + ').' : 'Body: differs (' + lenA + ' bytes, now ' + lenB + ').');
    return box;
  }

  function capturePage() {
    const del = $('delete');
    const replay = $('replay');
    const status = $('action-status');
    if (!del || !replay || !status) return;
    const id = del.dataset.id;
    const reveal = new URLSearchParams(location.search).get('reveal');
    const say = t => { status.textContent = t; };
    twice(del, () => 'Click again to delete #' + id, () =>
      post('/_tlspost/api/captures/' + encodeURIComponent(id) + '/delete', del.dataset.csrf)
        .then(() => { say('Deleted.'); location.href = '/_tlspost/'; })
        .catch(e => say('Not deleted: ' + e.message)));
    replay.addEventListener('click', () => {
      replay.disabled = true;
      say('Replaying…');
      const old = $('replay-difference');
      if (old) old.remove();
      const url = '/_tlspost/api/captures/' + encodeURIComponent(id) + '/replay' + (reveal ? '?reveal=' + encodeURIComponent(reveal) : '');
      post(url, replay.dataset.csrf)
        .then(r => {
          const newId = r.id != null ? r.id : (r.capture && r.capture.id);
          if (newId == null) { say('Replayed.'); return; }
          say('');
          status.appendChild(link('/_tlspost/captures/' + encodeURIComponent(newId), 'Replayed as #' + newId, 'replayed'));
          status.appendChild(document.createTextNode(' · '));
          status.appendChild(link('/_tlspost/diff?a=' + encodeURIComponent(id) + '&b=' + encodeURIComponent(newId), 'Diff the two', 'replay-diff'));
          if (r.difference) status.parentNode.after(difference(r.difference));
        })
        .catch(e => say('Not replayed: ' + e.message))
        .finally(() => { replay.disabled = false; });
    });
  }

  function listPage() {
    const list = $('list');
    const status = $('status');
    const form = $('filter');
    if (!list || !status || !form) return;
    const more = $('more');
    const shown = $('shown');
    const har = $('har');
    const compare = $('compare');
    const clear = $('clear');

    // The page's address → the API's query (times: local date-time → Unix milliseconds).
    const here = new URLSearchParams(location.search);
    const query = new URLSearchParams();
    for (const [k, v] of here) {
      if (!v) continue;
      const field = form.elements[k];
      if (field) field.value = v;
      if (k === 'from' || k === 'to') {
        const ms = new Date(v).getTime();
        if (!isNaN(ms)) query.set(k === 'from' ? 'since' : 'until', String(ms));
      } else if (k !== 'reveal') {
        query.set(k, v);
      }
    }
    const filtered = [...query.keys()].length > 0;
    const api = extra => '/_tlspost/api/captures?' + new URLSearchParams([...query, ...extra]).toString();

    const seen = new Set();
    const picked = [];
    let next = null;
    let newest = 0;

    function cell(t, label, cls) {
      const td = document.createElement('td');
      td.textContent = t == null ? '' : String(t);
      if (label) td.dataset.label = label;
      if (cls) td.className = cls;
      return td;
    }
    function updatePicks() {
      compare.disabled = picked.length !== 2;
      const ids = picked.length ? picked : [...seen];
      har.href = '/_tlspost/api/har?' + (picked.length
        ? 'ids=' + picked.join(',')
        : new URLSearchParams([...query, ['limit', String(Math.max(ids.length, 1))]]).toString());
      shown.textContent = seen.size + ' shown' + (filtered ? ' (filtered)' : '');
    }
    // A capture's row (the pick kept as it was).
    function row(c) {
      const tr = document.createElement('tr');
      tr.id = 'c' + c.id;
      const pick = document.createElement('input');
      pick.type = 'checkbox';
      pick.className = 'pick';
      pick.checked = picked.includes(c.id);
      pick.setAttribute('aria-label', 'pick #' + c.id);
      pick.addEventListener('change', () => {
        const i = picked.indexOf(c.id);
        if (pick.checked && i < 0) picked.push(c.id);
        if (!pick.checked && i >= 0) picked.splice(i, 1);
        updatePicks();
      });
      const pickTd = document.createElement('td');
      pickTd.appendChild(pick);
      tr.appendChild(pickTd);
      const td = document.createElement('td');
      td.appendChild(link('/_tlspost/captures/' + encodeURIComponent(c.id), '#' + c.id));
      tr.appendChild(td);
      tr.appendChild(cell((c.time || '').replace('T', ' ').replace('Z', ''), 'time', 'when'));
      tr.appendChild(cell(c.peer + ' · ' + c.scheme, 'peer'));
      tr.appendChild(cell(c.method ? c.method + ' ' + c.target : (c.error || ''), 'request', 'req'));
      tr.appendChild(cell(c.sni, 'SNI'));
      const st = cell(c.status || '', 'status');
      if (c.status >= 400) st.className = 'error-text';
      tr.appendChild(st);
      const codes = document.createElement('td');
      codes.dataset.label = 'findings';
      for (const f of (c.findings || (c.codes || []).map(code => ({ code })))) {
        const b = document.createElement('span');
        b.className = 'badge ' + (f.severity || '');
        b.textContent = f.code;
        if (f.title) b.title = f.title;
        codes.appendChild(b);
      }
      tr.appendChild(codes);
      return tr;
    }
    // A capture into the list; one already there (in forward mode the stream sends a capture
    // again when its response has ended) has its row replaced where it stands.
    function add(c, top) {
      if (seen.has(c.id)) {
        const old = $('c' + c.id);
        if (old) old.replaceWith(row(c));
        return;
      }
      seen.add(c.id);
      newest = Math.max(newest, c.id);
      const tr = row(c);
      if (top) list.insertBefore(tr, list.firstChild); else list.appendChild(tr);
    }
    // A capture the filter no longer keeps leaves the list.
    function drop(id) {
      if (!seen.delete(id)) return;
      const old = $('c' + id);
      if (old) old.remove();
      const i = picked.indexOf(id);
      if (i >= 0) picked.splice(i, 1);
    }
    function page(extra) {
      return fetch(api(extra)).then(r => {
        if (!r.ok) return r.text().then(t => { throw new Error(t.trim()); });
        next = r.headers.get('x-tlspost-next-before');
        more.hidden = !next;
        return r.json();
      }).then(cs => { cs.forEach(c => add(c, false)); updatePicks(); });
    }
    function load() {
      return page([['limit', String(PAGE)]]).catch(e => { status.textContent = e.message; });
    }
    more.addEventListener('click', () => {
      if (next) page([['limit', String(PAGE)], ['before', next]]);
    });
    compare.addEventListener('click', () => {
      if (picked.length !== 2) return;
      const [x, y] = [...picked].sort((p, q) => p - q);
      location.href = '/_tlspost/diff?a=' + x + '&b=' + y;
    });
    twice(clear, () => 'Click again to delete ' + (filtered ? 'every capture up to #' + newest : 'all ' + seen.size + ' shown and older'), () =>
      post('/_tlspost/api/captures/clear?upto=' + newest, clear.dataset.csrf)
        .then(r => {
          status.textContent = 'Deleted ' + r.deleted + '.';
          list.replaceChildren();
          seen.clear();
          picked.length = 0;
          return load();
        })
        .catch(e => { status.textContent = 'Not cleared: ' + e.message; }));

    load().then(() => {
      const es = new EventSource('/_tlspost/events');
      es.onopen = () => { status.textContent = filtered ? 'live (filtered)' : 'live'; };
      // The latest question about each capture: an older answer that arrives late is dropped.
      const asked = new Map();
      let tickets = 0;
      es.addEventListener('capture', e => {
        const c = JSON.parse(e.data);
        if (!filtered) { add(c, true); updatePicks(); return; }
        // The API decides whether the filter keeps it (it may no longer, once its response ended).
        const ticket = ++tickets;
        asked.set(c.id, ticket);
        fetch(api([['ids', String(c.id)]])).then(r => r.json()).then(cs => {
          if (asked.get(c.id) !== ticket) return;
          asked.delete(c.id);
          if (cs.length) cs.forEach(x => add(x, true)); else drop(c.id);
          updatePicks();
        });
      });
      es.addEventListener('reload', () => {
        list.replaceChildren();
        seen.clear();
        load();
      });
      es.onerror = () => { status.textContent = 'reconnecting…'; };
    });
  }

  capturePage();
  listPage();
})();
