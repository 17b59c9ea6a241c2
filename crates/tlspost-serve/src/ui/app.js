// The live list of captures (/_tlspost/): the newest 200 from the JSON API, then each new one
// from the event stream. Every value is set as text (textContent), never parsed as HTML.
// Served as /_tlspost/app.js: the pages carry no inline script.
'use strict';
(function () {
  const list = document.getElementById('list');
  const status = document.getElementById('status');
  if (!list || !status) return;
  const seen = new Set();
  function cell(t) {
    const td = document.createElement('td');
    td.textContent = t == null ? '' : String(t);
    return td;
  }
  function add(c, top) {
    if (seen.has(c.id)) return;
    seen.add(c.id);
    const tr = document.createElement('tr');
    tr.id = 'c' + c.id;
    const a = document.createElement('a');
    a.href = '/_tlspost/captures/' + encodeURIComponent(c.id);
    a.textContent = '#' + c.id;
    const td = document.createElement('td');
    td.appendChild(a);
    tr.appendChild(td);
    tr.appendChild(cell(c.time));
    tr.appendChild(cell(c.peer));
    tr.appendChild(cell(c.scheme));
    tr.appendChild(cell(c.method ? c.method + ' ' + c.target : (c.error || '')));
    tr.appendChild(cell(c.sni));
    tr.appendChild(cell(c.status || ''));
    tr.appendChild(cell((c.codes || (c.findings || []).map(f => f.code)).join(' ')));
    if (top) list.insertBefore(tr, list.firstChild); else list.appendChild(tr);
  }
  // The newest 200, oldest of them last; `reload` (the stream missed captures) loads them again.
  function load() {
    return fetch('/_tlspost/api/captures?limit=200').then(r => r.json()).then(cs => {
      cs.forEach(c => add(c, false));
    });
  }
  load().then(() => {
    const es = new EventSource('/_tlspost/events');
    es.onopen = () => { status.textContent = 'live'; };
    es.addEventListener('capture', e => add(JSON.parse(e.data), true));
    es.addEventListener('reload', () => {
      list.replaceChildren();
      seen.clear();
      load();
    });
    es.onerror = () => { status.textContent = 'reconnecting…'; };
  });
})();
